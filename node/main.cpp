// agner-node: the composition root. Runs a runtime, serves introspection (docs/protocol.md), and
// runs a workload until SIGTERM or SIGINT.
#include <signal.h>

#include <atomic>
#include <cerrno>
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
#include "flags.hpp"
#include "workload.hpp"

namespace {

struct options : agner::node::node_options {
  std::string workload = "synthetic";
  unsigned long idle = 0;
};

/// The flags: the standard node flags (flags.hpp) and agner-node's own. Exits 0 after --help or
/// --check-rules, 2 on a bad flag (with a sentence naming it), 1 when --check-rules finds errors.
options parse(int argc, char** argv) {
  options o;
  CLI::App app("agner-node: runs an Agner node (a runtime, its introspection socket, /metrics and alarms) with a\n"
               "workload until SIGTERM or SIGINT; SIGHUP reloads the rules. See README.md.",
               "agner-node");
  app.allow_extras();  // reported below as "unknown flag --x", with the flag's name
  agner::node::add_node_flags(app, o);
  std::string check;
  app.add_option("--check-rules", check, "check a rules file, print every error with file:line:column, exit 0 if good, 1 if not")
      ->type_name("FILE");
  app.add_option_function<std::string>(
         "--idle-processes",
         [&o](const std::string& v) {
           char* end = nullptr;
           errno = 0;
           const unsigned long n = std::strtoul(v.c_str(), &end, 10);
           if (v.empty() || v[0] == '-' || *end != '\0' || errno == ERANGE || n > (1u << 28))
             throw CLI::ValidationError(fmt::format("--idle-processes wants a number from 0 to {}, not '{}'", 1u << 28, v));
           o.idle = n;
         },
         "also spawn N idle processes (to see how tools cope with many)")
      ->type_name("N")
      ->default_str("0");
  app.add_option_function<std::string>(
         "--workload",
         [&o](const std::string& v) {
           if (v != "synthetic" && v != "none") throw CLI::ValidationError(fmt::format("--workload is synthetic or none, not '{}'", v));
           o.workload = v;
         },
         "what to run: synthetic (supervised workers, a slow consumer fed in bursts, a process that crashes now and "
         "then, one that hibernates) or none")
      ->type_name("synthetic|none")
      ->default_str("synthetic");
  try {
    app.parse(argc, argv);
    if (!app.remaining().empty()) throw CLI::ExtrasError(app.remaining());
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    std::exit(0);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "agner-node: %s\nusage: agner-node [OPTIONS]; agner-node --help lists them\n",
                 agner::node::describe(e, app).c_str());
    std::exit(2);
  }
  if (!check.empty()) {
    auto errors = agner::node::check_rules(check);
    for (auto& e : errors) std::fprintf(stderr, "%s\n", e.c_str());
    if (errors.empty()) std::printf("%s: the rules are good\n", check.c_str());
    std::exit(errors.empty() ? 0 : 1);
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
