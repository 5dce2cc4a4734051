#pragma once
// The node's alarms: the rules file, the engine ticking on its own thread, reloads, and what the
// exporter and the attach server show of them.
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "agner/alarms/engine.hpp"
#include "agner/exporter/counter_fold.hpp"
#include "agner/exporter/exporter.hpp"
#include "agner/exporter/metrics.hpp"
#include "agner/introspect/snapshot.hpp"
#include "agner/introspect/server.hpp"
#include "agner/runtime/runtime.hpp"
#include "alertmanager.hpp"

namespace agner::node {

class alarm_service final : public introspect::alarm_control {
 public:
  /// Loads `rules_file` (none: no rule alarms; programmatic ones still work). Throws
  /// std::runtime_error listing every error in the file.
  alarm_service(runtime& rt, std::shared_ptr<exporter::metrics> business, const std::string& rules_file,
                std::string node_name = "agner");
  ~alarm_service();
  /// Stops evaluating and reloading, and stops the Alertmanager sender (the ticker reads the
  /// runtime and the sender logs through it: stop before the runtime goes). Waits for a tick or a
  /// reload in progress to end, and at most alertmanager_notifier::stop_wait_ms for the sender.
  /// Idempotent. Call it from one thread.
  void stop();

  /// Reloads the rules file on the service's reload thread and waits for it at most
  /// reload_wait_ms: on success the new rules take over (state kept for ids that stay) and
  /// rules_reload_failed clears; on failure the old rules stay, rules_reload_failed is raised and
  /// the errors are logged. Returns the errors (empty on success), or one line saying the reload
  /// is still running (its outcome is then logged). Thread-safe; the caller (the attach server's
  /// thread) never waits longer than reload_wait_ms, whatever the file or the network does.
  std::vector<std::string> reload() override;
  /// Asks the reload thread for a reload and returns at once (the signal path: SIGHUP).
  /// Requests made while one is pending are merged. Thread-safe.
  void request_reload();
  static constexpr std::int64_t reload_wait_ms = 5000;

  alarms::engine& engine() { return *engine_; }
  /// For the exporter: agner_alarm_active, transitions, valve pressure and shed counts, each
  /// family bounded (docs/metrics.md). Thread-safe; O(active alarms + alarm ids ever seen).
  std::vector<exporter::extra_family> metrics() const;

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

  static std::int64_t now_ms();

 private:
  std::optional<double> read(const std::string& metric, const std::map<std::string, std::string>& labels);
  /// The system metrics, once per tick (so two rules on a rate see the same interval).
  void sample_system(std::int64_t now);
  std::map<std::string, double> system_;
  runtime& rt_;
  std::shared_ptr<exporter::metrics> business_;
  std::string file_;
  std::unique_ptr<alarms::engine> engine_;
  // The previous tick's snapshot, for rates between ticks (only the tick thread reads metrics).
  introspect::node_info last_;
  std::int64_t last_ms_ = 0;
  void watch_thresholds();
  void drain_queue_events();
  std::mutex events_mutex_;
  std::vector<queue_event> events_;  // from the runtime's queue watch, for the next tick
  std::map<std::pair<std::string, bool>, std::string> sources_;  // (pid, length?) -> "pid name", while flagged
  void notifier_for(const alarms::rules& r);
  std::string node_name_;
  std::mutex warnings_mutex_;
  introspect::warning_thresholds warnings_;  // the rules' "warnings", replaced on a good reload
  mutable std::mutex fold_mutex_;
  mutable exporter::counter_fold transitions_fold_{100};  // bounds agner_alarm_transitions_total
  std::mutex notifier_mutex_;
  std::unique_ptr<alertmanager_notifier> notifier_;  // when the rules name an Alertmanager
  std::string notifier_url_;
  std::thread ticker_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  // The reload thread: requests are numbered; a reload serves every request made before it began.
  std::vector<std::string> reload_now();
  std::thread reloader_;
  std::mutex reload_mutex_;
  std::condition_variable reload_wake_, reload_done_;
  std::uint64_t reload_requested_ = 0, reload_started_ = 0, reload_finished_ = 0;
  std::vector<std::string> reload_result_;
  bool reload_stopping_ = false;
};

/// Errors of a rules file as lines ("FILE:LINE:COLUMN: PATH: MESSAGE"); empty when it is good.
std::vector<std::string> check_rules(const std::string& file);

}  // namespace agner::node
