// The embeddable node: the composition root agner-node and every embedding service share.
#include "agner/node/node.hpp"
#include "agner/snapshot/visible_text.hpp"

#include <signal.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "agner/exporter/exporter.hpp"
#include "agner/introspect/collector.hpp"
#include "agner/introspect/server.hpp"
#include "alarm_service.hpp"

namespace agner::node {
namespace {

sigset_t stop_set(bool with_hup) {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGTERM);
  sigaddset(&s, SIGINT);
  if (with_hup) sigaddset(&s, SIGHUP);
  return s;
}

/// What the node is doing while it stops, for the watchdog's "still stopping" line.
std::atomic<const char*> stopping_phase{"starting"};

/// Runs from the first stop signal on: logs a line every 5 s while stopping lasts, and a second
/// SIGTERM or SIGINT ends the process at once (an operator who asked twice means it).
void watch_the_stop(std::string program, std::chrono::steady_clock::time_point began) {
  const sigset_t signals = stop_set(false);
  timespec step{5, 0};
  for (;;) {
    siginfo_t info{};
    const int sig = sigtimedwait(&signals, &info, &step);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
    if (sig == SIGTERM || sig == SIGINT) {
      std::fprintf(stderr, "%s: %s while stopping (%.1f s, at: %s): exiting now\n", program.c_str(),
                   sig == SIGTERM ? "SIGTERM" : "SIGINT", s, stopping_phase.load());
      std::_Exit(1);
    }
    if (sig < 0) std::fprintf(stderr, "%s: still stopping after %.0f s (at: %s)\n", program.c_str(), s, stopping_phase.load());
  }
}

}  // namespace

void block_stop_signals() {
  const sigset_t s = stop_set(true);
  pthread_sigmask(SIG_BLOCK, &s, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

struct host::parts {
  std::unique_ptr<introspect::collector> snapshots;  // the node's one snapshot per tick; ticked by the alarms' ticker
  std::unique_ptr<alarm_service> alarms;
  std::unique_ptr<introspect::server> server;
  std::unique_ptr<exporter::exporter> exporter;
  std::mutex gates_mutex;
  std::vector<std::string> gated_names;
  bool spawns_gated = false;
  bool stopped = false;
};

host::host(node_options o, std::function<void(host&)> setup) : host(nullptr, std::move(o), std::move(setup)) {}
host::host(runtime& rt, node_options o, std::function<void(host&)> setup) : host(&rt, std::move(o), std::move(setup)) {}

host::host(runtime* borrowed, node_options o, std::function<void(host&)> setup) : o_(std::move(o)), rt_(borrowed), p_(std::make_unique<parts>()) {
  block_stop_signals();  // before any thread we start: they inherit the mask
  if (!o_.server.tcp_listen.empty() && o_.server.cookie_file.find("/.config/agner/") != std::string::npos)
    std::filesystem::create_directories(std::filesystem::path(o_.server.cookie_file).parent_path());
  business_ = std::make_shared<exporter::metrics>();
  if (!rt_) {
    owned_ = std::make_unique<runtime>(o_.runtime);
    rt_ = owned_.get();
    owns_runtime_ = true;
  }
  try {
    // The per-process names are the exporter's: without /metrics no snapshot carries them.
    p_->snapshots = std::make_unique<introspect::collector>(
        *rt_, introspect::collector_options{std::chrono::milliseconds(0), o_.metrics.sample_every,
                                            o_.metrics.listen == "off" ? std::vector<std::string>{} : o_.metrics.processes});
    p_->alarms = std::make_unique<alarm_service>(*rt_, *p_->snapshots, business_, o_.rules, o_.server.node_name);
    if (!o_.spawn_valve.empty()) {
      auto& e = p_->alarms->engine();
      rt_->gate_spawns(&e.valve_named(o_.spawn_valve), e.class_index("normal"));
      p_->spawns_gated = true;
    }
    // The attach server's checks (the socket directory, a node already serving, the cookie, the TCP
    // port) run before the setup hook: a refused start prints its reason and nothing from a workload
    // it started and stopped again. Clients wait in the listen backlog until setup is done.
    auto server_options = o_.server;
    server_options.alarms = p_->alarms.get();
    server_options.accept_at_once = false;
    p_->server = std::make_unique<introspect::server>(*rt_, server_options);
    if (setup) setup(*this);
    if (o_.metrics.listen != "off") {
      auto metrics_options = o_.metrics;
      metrics_options.node_name = o_.server.node_name;
      metrics_options.extra = [a = p_->alarms.get()] { return a->metrics(); };
      try {
        p_->exporter = std::make_unique<exporter::exporter>(*p_->snapshots, metrics_options, business_);
      } catch (const std::exception& e) {
        if (o_.metrics_chosen) throw;
        std::fprintf(stderr, "%s: running without /metrics: %s (choose with --metrics-listen)\n", o_.program.c_str(),
                     agner::visible_text(e.what()).c_str());
      }
    }
    p_->server->start_accepting();
  } catch (...) {
    stop();
    if (!owns_runtime_) rt_->set_queue_watch(0, 0, 0, 0);  // the alarm service goes with this object
    throw;
  }
  std::string where = unix_path().empty() ? "" : fmt::format(" on {}", unix_path());
  if (tcp_port()) where += fmt::format(" and TCP port {}", tcp_port());
  if (p_->exporter)
    where += fmt::format(", metrics on http://{}:{}/metrics", o_.metrics.listen.substr(0, o_.metrics.listen.rfind(':')),
                         metrics_port());
  // etop finds a node by name only in the default directory; elsewhere it needs the path or address.
  std::string etop_target = o_.server.node_name;
  if (unix_path().empty()) {
    etop_target = fmt::format("{}:{}", o_.server.tcp_listen.substr(0, o_.server.tcp_listen.rfind(':')), tcp_port());
  } else if (unix_path() != fmt::format("{}/{}.sock", introspect::default_socket_dir(), o_.server.node_name)) {
    etop_target = unix_path();
  }
  std::string hint = unix_path().empty() && !tcp_port() ? "" : "; attach with: etop " + etop_target;
  std::printf("%s %s: %u schedulers, serving introspection%s%s\n", o_.program.c_str(), o_.server.node_name.c_str(),
              rt_->scheduler_count(), where.c_str(), hint.c_str());
  std::fflush(stdout);
}

host::~host() {
  stop();
  if (!owns_runtime_) rt_->set_queue_watch(0, 0, 0, 0);  // a borrowed runtime may still run: no more queue events
  if (p_) p_->alarms.reset();
}

alarms::engine& host::alarms() noexcept { return p_->alarms->engine(); }
alarms::valve& host::valve(const std::string& id) { return alarms().valve_named(id); }
std::size_t host::priority_class(std::string_view name) const { return p_->alarms->engine().class_index(name); }

void host::gate_sends(const std::string& name, const std::string& valve_id, std::string_view cls) {
  auto& v = valve(valve_id);
  std::lock_guard lock(p_->gates_mutex);
  rt_->gate_sends(name, &v, priority_class(cls));
  p_->gated_names.push_back(name);
}

std::string host::unix_path() const { return p_->server ? p_->server->unix_path() : std::string(); }
std::uint16_t host::tcp_port() const { return p_->server ? p_->server->tcp_port() : 0; }
std::uint16_t host::metrics_port() const { return p_->exporter ? p_->exporter->port() : 0; }

int host::wait() {
  const sigset_t signals = stop_set(true);
  const timespec step{0, 100'000'000};
  for (;;) {
    if (stop_requested_.load(std::memory_order_relaxed)) {
      signal_ = 0;
      break;
    }
    siginfo_t info{};
    const int sig = sigtimedwait(&signals, &info, &step);
    if (sig == SIGHUP) {
      p_->alarms->request_reload();  // the signal path only asks: the reload runs on its own thread
    } else if (sig == SIGTERM || sig == SIGINT) {
      signal_ = sig;
      break;
    }
  }
  std::printf("%s %s: %s, stopping\n", o_.program.c_str(), o_.server.node_name.c_str(),
              signal_ == SIGTERM ? "SIGTERM" : signal_ == SIGINT ? "SIGINT" : "stop requested");
  std::fflush(stdout);
  return signal_;
}

void host::stop() noexcept {
  if (!p_ || p_->stopped) return;
  p_->stopped = true;
  const auto began = std::chrono::steady_clock::now();
  if (signal_) std::thread(watch_the_stop, o_.program, began).detach();
  try {
    stopping_phase = "the /metrics server";
    p_->exporter.reset();
    stopping_phase = "the introspection server";
    p_->server.reset();
    stopping_phase = "the alarm ticker";
    if (p_->alarms) p_->alarms->stop();
    stopping_phase = "the shed gates";
    {
      std::lock_guard lock(p_->gates_mutex);
      for (auto& n : p_->gated_names) rt_->gate_sends(n, nullptr, 0);
      p_->gated_names.clear();
    }
    if (p_->spawns_gated) rt_->gate_spawns(nullptr, 0);
    stopping_phase = "the runtime";
    owned_.reset();  // its processes use the valves and business metrics: before the alarm service
    stopping_phase = "the alarm service";
    if (!owns_runtime_) {
      // A borrowed runtime still runs, and its processes may hold valves: the service goes with the host.
    } else {
      p_->alarms.reset();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: while stopping: %s\n", o_.program.c_str(), agner::visible_text(e.what()).c_str());
  }
  if (signal_) {
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - began);
    std::printf("%s %s: stopped in %lld ms\n", o_.program.c_str(), o_.server.node_name.c_str(), static_cast<long long>(took.count()));
    std::fflush(stdout);
  }
}

}  // namespace agner::node
