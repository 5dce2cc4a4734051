// agner-node: the composition root. Runs a runtime, serves introspection (docs/protocol.md), and
// runs a workload until SIGTERM or SIGINT.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "agner/exporter/exporter.hpp"
#include "agner/introspect/server.hpp"
#include "agner/runtime/runtime.hpp"
#include "alarm_service.hpp"
#include "workload.hpp"

namespace {

constexpr const char* usage = R"(usage: agner-node [OPTIONS]
  --name NAME               node name; the socket is <socket dir>/NAME.sock (default: agner)
  --schedulers N            scheduler threads (default: one per core)
  --process-limit N         most processes alive at once (default: 4194304)
  --socket PATH|off         the Unix socket to serve introspection on (default: $XDG_RUNTIME_DIR/agner/NAME.sock,
                            or /tmp/agner-UID/NAME.sock; the directory is 0700, the socket 0600)
  --listen-tcp ADDR:PORT    also serve on TCP, loopback only, with HMAC authentication (default: off)
  --cookie-file FILE        the admin key for TCP, created 0600 on first start (default: ~/.config/agner/cookie)
  --viewer-cookie-file FILE a key that grants the viewer role over TCP (default: none)
  --metrics-listen ADDR:PORT|off
                            serve Prometheus /metrics there (default: 127.0.0.1:39150; if that default
                            is busy the node says so and runs without metrics)
  --metrics-process NAME    also export per-process series for this registered name (repeatable, 50 at most)
  --rules FILE              alarm rules (docs/alarms.md); SIGHUP reloads them (a bad file keeps the old rules)
  --check-rules FILE        check a rules file, print every error with file:line:column, exit 0 if good, 1 if not
  --idle-processes N        also spawn N idle processes (to see how tools cope with many; default 0)
  --workload synthetic|none what to run (default: synthetic: supervised workers, a slow consumer fed
                            in bursts, a process that crashes now and then, one that hibernates)
  --help                    this text
SIGTERM or SIGINT stops the node cleanly.
)";

struct options {
  agner::runtime_options runtime;
  agner::introspect::server_options server;
  std::string workload = "synthetic";
  unsigned long idle = 0;
  std::string rules;
  agner::exporter::options metrics;
  bool metrics_chosen = false;  // --metrics-listen given: failing to listen is then an error
};

[[noreturn]] void bad(const std::string& what) {
  std::fprintf(stderr, "agner-node: %s\n%s", what.c_str(), usage);
  std::exit(2);
}

unsigned long number(const std::string& flag, const std::string& text, unsigned long max) {
  char* end = nullptr;
  const unsigned long v = std::strtoul(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || v == 0 || v > max)
    bad(fmt::format("{} wants a number from 1 to {}, not '{}'", flag, max, text));
  return v;
}

options parse(int argc, char** argv) {
  options o;
  if (const char* home = std::getenv("HOME")) o.server.cookie_file = fmt::format("{}/.config/agner/cookie", home);
  std::vector<std::string> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& flag = args[i];
    if (flag == "--help" || flag == "-h") {
      std::fputs(usage, stdout);
      std::exit(0);
    }
    if (i + 1 >= args.size()) bad(flag.starts_with("--") ? fmt::format("{} needs a value", flag) : fmt::format("unknown argument '{}'", flag));
    const std::string& value = args[++i];
    if (flag == "--name") {
      o.server.node_name = value;
    } else if (flag == "--schedulers") {
      o.runtime.schedulers = static_cast<unsigned>(number(flag, value, 1024));
    } else if (flag == "--process-limit") {
      o.runtime.process_limit = static_cast<std::uint32_t>(number(flag, value, 1u << 28));
    } else if (flag == "--socket") {
      o.server.unix_path = value;
    } else if (flag == "--listen-tcp") {
      o.server.tcp_listen = value;
    } else if (flag == "--cookie-file") {
      o.server.cookie_file = value;
    } else if (flag == "--viewer-cookie-file") {
      o.server.viewer_cookie_file = value;
    } else if (flag == "--metrics-listen") {
      o.metrics.listen = value;
      o.metrics_chosen = true;
    } else if (flag == "--metrics-process") {
      o.metrics.processes.push_back(value);
    } else if (flag == "--rules") {
      o.rules = value;
    } else if (flag == "--check-rules") {
      auto errors = agner::node::check_rules(value);
      for (auto& e : errors) std::fprintf(stderr, "%s\n", e.c_str());
      if (errors.empty()) std::printf("%s: the rules are good\n", value.c_str());
      std::exit(errors.empty() ? 0 : 1);
    } else if (flag == "--idle-processes") {
      o.idle = number(flag, value, 1u << 28);
    } else if (flag == "--workload") {
      if (value != "synthetic" && value != "none") bad(fmt::format("--workload is synthetic or none, not '{}'", value));
      o.workload = value;
    } else {
      bad(fmt::format("unknown option '{}'", flag));
    }
  }
  return o;
}

/// What the node is doing while it stops, for the watchdog's "still stopping" line.
std::atomic<const char*> stopping_phase{"starting"};

/// Runs from the first stop signal on: logs a line every 5 s while stopping lasts, and a second
/// SIGTERM or SIGINT ends the process at once (an operator who asked twice means it).
void watch_the_stop(sigset_t signals, std::chrono::steady_clock::time_point began) {
  timespec step{5, 0};
  for (;;) {
    siginfo_t info{};
    const int sig = sigtimedwait(&signals, &info, &step);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
    if (sig == SIGTERM || sig == SIGINT) {
      std::fprintf(stderr, "agner-node: %s while stopping (%.1f s, at: %s): exiting now\n", sig == SIGTERM ? "SIGTERM" : "SIGINT", s,
                   stopping_phase.load());
      std::_Exit(1);
    }
    if (sig < 0) std::fprintf(stderr, "agner-node: still stopping after %.0f s (at: %s)\n", s, stopping_phase.load());
  }
}

}  // namespace

int main(int argc, char** argv) {
  options o = parse(argc, argv);
  // Every thread started from here on inherits the blocked signals; main waits for them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  std::chrono::steady_clock::time_point stop_began;
  try {
    if (!o.server.tcp_listen.empty() && o.server.cookie_file.find("/.config/agner/") != std::string::npos)
      std::filesystem::create_directories(std::filesystem::path(o.server.cookie_file).parent_path());
    // The shutdown order (README.md, "Stopping"): readers first, then the alarm ticker (it reads the
    // runtime), then the runtime (its processes use the valves and business metrics), then the
    // alarm service and the business metrics.
    auto business = std::make_shared<agner::exporter::metrics>();
    std::unique_ptr<agner::node::alarm_service> alarm_holder;
    auto rt = std::make_unique<agner::runtime>(o.runtime);
    alarm_holder = std::make_unique<agner::node::alarm_service>(*rt, business, o.rules, o.server.node_name);
    auto& alarms = *alarm_holder;
    struct stop_ticking {  // on a failed start too
      agner::node::alarm_service& a;
      ~stop_ticking() { a.stop(); }
    } before_the_runtime_stops{alarms};
    if (o.workload == "synthetic") agner::node::start_synthetic_workload(*rt, *business, alarms.engine());  // before anyone can attach
    o.server.alarms = &alarms;
    o.metrics.extra = [&alarms] { return alarms.metrics(); };
    for (unsigned long i = 0; i < o.idle; ++i) agner::node::spawn_idle(*rt);
    auto srv = std::make_unique<agner::introspect::server>(*rt, o.server);
    std::unique_ptr<agner::exporter::exporter> metrics;
    if (o.metrics.listen != "off") {
      o.metrics.node_name = o.server.node_name;
      try {
        metrics = std::make_unique<agner::exporter::exporter>(*rt, o.metrics, business);
      } catch (const std::exception& e) {
        if (o.metrics_chosen) throw;
        std::fprintf(stderr, "agner-node: running without /metrics: %s (choose with --metrics-listen)\n", e.what());
      }
    }
    std::string where = srv->unix_path().empty() ? "" : fmt::format(" on {}", srv->unix_path());
    if (srv->tcp_port()) where += fmt::format(" and TCP port {}", srv->tcp_port());
    if (metrics) where += fmt::format(", metrics on http://{}:{}/metrics",
                                      o.metrics.listen.substr(0, o.metrics.listen.rfind(':')), metrics->port());
    std::printf("agner-node %s: %u schedulers, serving introspection%s; attach with: etop %s\n",
                o.server.node_name.c_str(), rt->scheduler_count(), where.c_str(), o.server.node_name.c_str());
    std::fflush(stdout);
    // The signal path only asks: a reload runs on the alarm service's own thread.
    int sig = 0;
    while (sigwait(&stop_signals, &sig) == 0 && sig == SIGHUP) alarms.request_reload();
    stop_began = std::chrono::steady_clock::now();
    std::printf("agner-node %s: %s, stopping\n", o.server.node_name.c_str(), sig == SIGTERM ? "SIGTERM" : "SIGINT");
    std::fflush(stdout);
    sigset_t again;
    sigemptyset(&again);
    sigaddset(&again, SIGTERM);
    sigaddset(&again, SIGINT);
    std::thread(watch_the_stop, again, stop_began).detach();
    stopping_phase = "the /metrics server";
    metrics.reset();
    stopping_phase = "the introspection server";
    srv.reset();
    stopping_phase = "the alarm ticker";
    alarms.stop();
    stopping_phase = "the runtime";
    rt.reset();
    stopping_phase = "the alarm service";
  } catch (const std::exception& e) {
    std::fprintf(stderr, "agner-node: %s\n", e.what());
    return 1;
  }
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - stop_began);
  std::printf("agner-node %s: stopped in %lld ms\n", o.server.node_name.c_str(), static_cast<long long>(took.count()));
  std::fflush(stdout);
  return 0;
}
