#pragma once
/// The embeddable node (docs/embedding.md): what agner-node is, for any program. A node host runs
/// a runtime, serves introspection (etop, agner-ctl: docs/protocol.md), Prometheus /metrics
/// (docs/metrics.md) and alarms with their valves (docs/alarms.md) from one node_options, waits for
/// SIGTERM/SIGINT (SIGHUP reloads the rules off the signal path) and stops everything in order.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "agner/alarms/engine.hpp"
#include "agner/exporter/metrics.hpp"
#include "agner/node/flags.hpp"
#include "agner/runtime/runtime.hpp"

namespace agner::node {

/// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread (threads it starts later inherit the
/// mask) and ignores SIGPIPE, so that host::wait() receives them. The host's constructor calls it;
/// call it yourself first, from main, if you start threads (or a runtime) before the host.
/// Idempotent. Cost: two system calls.
void block_stop_signals();

/// One node: a runtime (owned or borrowed), its introspection server, its /metrics endpoint, its
/// alarm service (rules, ticker, valves, Alertmanager) and the business metrics registry.
///
/// Thread contract: construct, wait() and stop() from one thread (main); the accessors and the
/// metrics, valves and engine they return are thread-safe (use them from handlers too).
class host {
 public:
  /// Creates a runtime from `o.runtime` and starts everything: the alarm service with `o.rules`
  /// (none: no rule alarms, the default priority classes system, critical, normal, batch), the
  /// introspection server (o.server: Unix socket, optional TCP), /metrics on o.metrics.listen
  /// ("off": none; if the default address is busy and metrics_chosen is false it says so on stderr
  /// and runs without), and the spawn gate (o.spawn_valve). Prints one line to stdout saying where
  /// it serves. Throws std::runtime_error (or the module's error, what() one sentence) on a bad
  /// rules file, a socket or port it cannot take, or a cookie file it refuses; nothing keeps
  /// running then. Cost: starts the runtime's schedulers plus four threads (alarm ticker, reload,
  /// attach server, HTTP server). `setup`, if given, runs on the calling thread once the runtime,
  /// the business metrics and the alarm engine exist and the attach server has made its checks and
  /// bound its sockets (a refused socket or cookie stops the start before setup runs), and before
  /// introspection and /metrics serve
  /// (spawn your supervision tree and register your series there, and no reader sees a half-started
  /// node); what it throws stops the host and propagates.
  explicit host(node_options o, std::function<void(host&)> setup = {});
  /// The same over a runtime the caller owns, which must outlive stop(). Call
  /// block_stop_signals() before creating that runtime. Its processes may use valves and business
  /// metrics until the host is destroyed (stop() keeps the alarm service, stopped, until then), so
  /// stop that runtime before destroying the host.
  host(runtime& rt, node_options o, std::function<void(host&)> setup = {});
  /// stop(), if not done yet.
  ~host();
  host(const host&) = delete;
  host& operator=(const host&) = delete;

  /// The runtime: spawn your processes and supervisors here.
  runtime& rt() noexcept { return *rt_; }
  /// The business metrics registry: counters, gauges, histograms served at /metrics next to the
  /// runtime's and readable by alarm rules as "business:NAME". Create a series once and keep its
  /// handle (an update is an atomic add). Lives until the host is destroyed.
  exporter::metrics& metrics() noexcept { return *business_; }
  /// The alarm engine: programmatic alarms (set/clear), valves, priority classes. Valid until stop()
  /// (until the host is destroyed over a borrowed runtime).
  alarms::engine& alarms() noexcept;
  /// The valve `id` (declared in the rules, else made now with no triggers: it admits everything
  /// until an operator closes it). The reference stays valid across rule reloads, until stop().
  /// Ask it before taking work in: `if (!h.valve("ingress").admit(h.priority_class("batch")))`
  /// refuse with "overloaded, retry later". admit() costs a relaxed load and two relaxed adds.
  alarms::valve& valve(const std::string& id);
  /// The index of priority class `name` for valve::admit and spawn_options::priority; the lowest
  /// class if unknown. Thread-safe.
  std::size_t priority_class(std::string_view name) const;
  /// Gates sends by name to `name` (runtime::send(name, ...)) on valve `valve_id` with class
  /// `cls`: a refused send is counted as shed (agner_messages_shed_total) and returns false. The
  /// gates come off in stop(), before the valves go. Thread-safe.
  void gate_sends(const std::string& name, const std::string& valve_id, std::string_view cls);

  /// Where it serves: the Unix socket path ("" when off), the TCP attach port (0 when off), the
  /// /metrics port (0 when off or not served).
  std::string unix_path() const;
  std::uint16_t tcp_port() const;
  std::uint16_t metrics_port() const;

  /// Blocks until SIGTERM or SIGINT arrives (the stop signals must be blocked: see
  /// block_stop_signals) or request_stop() is called; each SIGHUP meanwhile asks the alarm service
  /// to reload the rules and returns to waiting (the reload runs on its own thread). Returns the
  /// signal number, or 0 for request_stop(). Prints "PROGRAM NAME: SIGTERM, stopping".
  int wait();
  /// Makes wait() return within ~100 ms. Thread-safe, async-signal-unsafe.
  void request_stop() noexcept { stop_requested_.store(true, std::memory_order_relaxed); }
  /// Stops in the documented order (README.md, "Stopping"): /metrics, the introspection server,
  /// the alarm ticker, the send and spawn gates, the runtime if the host owns it, then the alarm
  /// service. After a stop signal a second SIGTERM/SIGINT ends the process at once, and a line
  /// is logged every 5 s while stopping lasts. Prints "PROGRAM NAME: stopped in N ms" when it
  /// followed a signal. Idempotent; never throws.
  void stop() noexcept;

 private:
  struct parts;
  host(runtime* borrowed, node_options o, std::function<void(host&)> setup);
  node_options o_;
  std::unique_ptr<runtime> owned_;
  runtime* rt_;
  std::shared_ptr<exporter::metrics> business_;
  std::unique_ptr<parts> p_;
  std::atomic<bool> stop_requested_{false};
  int signal_ = 0;
  bool owns_runtime_ = false;
};

}  // namespace agner::node
