#pragma once
// The node's alarms, wired: the alarm engine over the node's snapshots and queue watch, its
// ticker and reload threads, and what the attach server, the exporter and Alertmanager see of it.
// The alarm logic itself is in alarms/ (rules_file, metric_reader, engine, rows).
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "agner/alarms/engine.hpp"
#include "agner/alarms/metric_reader.hpp"
#include "agner/exporter/exporter.hpp"
#include "agner/exporter/metrics.hpp"
#include "agner/introspect/collector.hpp"
#include "agner/introspect/server.hpp"
#include "agner/introspect/snapshot.hpp"
#include "agner/runtime/runtime.hpp"
#include "alarm_families.hpp"
#include "alert_sender.hpp"
#include "queue_feed.hpp"
#include "reload_thread.hpp"
#include "ticker.hpp"

namespace agner::node {

class alarm_service final : public introspect::alarm_control {
 public:
  /// Loads `rules_file` (none: alarms::default_rules(); programmatic alarms still work), watches
  /// the runtime's queues and starts the ticker and reload threads. The ticker is the node's tick:
  /// each one has `snapshots` collect a node snapshot, which the engine evaluates and the exporter
  /// then serves (`snapshots` has no thread of its own and must outlive this service). Throws
  /// std::runtime_error listing every error in the file.
  alarm_service(runtime& rt, introspect::collector& snapshots, std::shared_ptr<exporter::metrics> business,
                const std::string& rules_file, std::string node_name = "agner");
  ~alarm_service();
  /// Stops evaluating and reloading, and stops the Alertmanager sender (the ticker reads the
  /// runtime and the sender logs through it: stop before the runtime goes). Waits for a tick or a
  /// reload in progress to end, and at most alertmanager_notifier::stop_wait_ms for the sender.
  /// Idempotent. Call it from one thread.
  void stop();

  /// Reloads the rules file on the reload thread and waits for it at most reload_wait_ms: on
  /// success the new rules take over (state kept for ids that stay) and rules_reload_failed clears;
  /// on failure the old rules stay, rules_reload_failed is raised and the errors are logged
  /// (alarms::reload_rules). Returns the errors (empty on success), or one line saying the reload
  /// is still running (its outcome is then logged). Thread-safe; never waits longer than reload_wait_ms.
  std::vector<std::string> reload() override { return reloader_->run(std::chrono::milliseconds(reload_wait_ms)); }
  /// Asks the reload thread for a reload and returns at once (the signal path: SIGHUP).
  /// Requests made while one is pending are merged. Thread-safe.
  void request_reload() { reloader_->request(); }
  static constexpr std::int64_t reload_wait_ms = 5000;

  /// The engine, for the host's valves and classes; lives as long as this service. Thread-safe as
  /// engine is.
  alarms::engine& engine() { return *engine_; }
  /// For the exporter (alarm_families): bounded families of alarms and valves. Runs on a scrape
  /// thread; thread-safe; O(active alarms + alarm ids ever seen).
  std::vector<exporter::extra_family> metrics() const { return families_.collect(*engine_); }

  // introspect::alarm_control: what operators see and do through the attach protocol.
  std::vector<introspect::alarm_row> active() override { return engine_->active(); }
  std::vector<introspect::alarm_event> history(std::size_t last) override;
  std::vector<introspect::valve_row> valves() override;
  bool acknowledge(const std::string& id) override { return engine_->acknowledge(id); }
  void set(const std::string& id, const std::string& severity, const std::string& description) override;
  bool clear(const std::string& id) override { return engine_->clear(id, now_ms()); }
  bool override_valve(const std::string& id, const std::string& mode, std::int64_t for_ms) override;
  /// The rules' "warnings" thresholds in force (docs/warnings.md). Thread-safe; a copy under a mutex.
  introspect::warning_thresholds warning_config() override {
    std::lock_guard lock(warnings_mutex_);
    return warnings_;
  }

  /// Wall-clock milliseconds: the engine's time.
  static std::int64_t now_ms();

 private:
  void tick();                          // the ticker's thread
  std::vector<std::string> reload_now();  // the reload thread
  void watch_thresholds();
  void log(std::string_view line) { rt_.log(line); }

  runtime& rt_;
  introspect::collector& snapshots_;  // ticked by tick() only
  std::shared_ptr<exporter::metrics> business_;
  std::string file_;
  alarms::metric_reader reader_;  // the ticker's only (engine::tick reads it)
  std::unique_ptr<alarms::engine> engine_;
  queue_feed feed_;
  alarm_families families_;
  alert_sender sender_;
  std::mutex warnings_mutex_;
  introspect::warning_thresholds warnings_;  // the rules' "warnings", replaced on a good reload
  std::unique_ptr<ticker> ticker_;
  std::unique_ptr<reload_thread> reloader_;
};

}  // namespace agner::node
