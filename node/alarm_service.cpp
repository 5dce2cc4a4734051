#include "alarm_service.hpp"

#include <chrono>

#include "agner/alarms/rows.hpp"
#include "agner/alarms/rules_file.hpp"

namespace agner::node {

std::int64_t alarm_service::now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

alarm_service::alarm_service(runtime& rt, introspect::collector& snapshots, std::shared_ptr<exporter::metrics> business,
                             const std::string& rules_file, std::string node_name)
    : rt_(rt),
      snapshots_(snapshots),
      business_(std::move(business)),
      file_(rules_file),
      reader_(snapshots.latest()->node, now_ms(),
              [b = business_](const std::string& name, const alarms::metric_reader::labels& l) {
                return b ? b->value(name, l) : std::nullopt;
              }),
      sender_(std::move(node_name), [this](std::string_view line) { log(line); }) {
  const auto r = alarms::startup_rules(file_);
  warnings_ = r.warnings;
  engine_ = std::make_unique<alarms::engine>(
      r, [this](const std::string& m, const alarms::metric_reader::labels& l) { return reader_.read(m, l); },
      [this](std::string_view line) { log(line); });
  rt_.watch_queues([this](const queue_event& e) { feed_.push(e); });
  watch_thresholds();
  sender_.configure(r);
  ticker_ = std::make_unique<ticker>([this] { return std::chrono::milliseconds(engine_->tick_ms()); }, [this] { tick(); });
  reloader_ = std::make_unique<reload_thread>([this] { return reload_now(); }, [this](std::string_view line) { log(line); });
}

alarm_service::~alarm_service() { stop(); }

void alarm_service::stop() {
  // Each finishes what it is doing (a tick; a reload of a bounded file, a notifier's bounded stop).
  if (ticker_) ticker_->stop();
  if (reloader_) reloader_->stop();
  sender_.stop();  // the sender logs through the runtime: it stops now, while the runtime is still there
}

void alarm_service::tick() {
  const auto now = now_ms();
  feed_.drain(rt_, *engine_, now);
  reader_.sample(snapshots_.tick()->node, now);  // the node's tick: the exporter serves this same snapshot
  engine_->tick(now);
  sender_.update(*engine_, now);
}

std::vector<std::string> alarm_service::reload_now() {
  if (file_.empty()) return {"no rules file was given (--rules)"};
  auto outcome = alarms::reload_rules(*engine_, file_, [this](std::string_view line) { log(line); }, now_ms());
  auto* fresh = std::get_if<alarms::rules>(&outcome);
  if (!fresh) return std::get<std::vector<std::string>>(outcome);
  {
    std::lock_guard lock(warnings_mutex_);
    warnings_ = fresh->warnings;
  }
  watch_thresholds();
  sender_.configure(*fresh);
  return {};
}

void alarm_service::watch_thresholds() {
  const auto t = engine_->process_thresholds();
  rt_.set_queue_watch(t.long_len, t.short_len, t.old_ms, t.young_ms);
}

std::vector<introspect::alarm_event> alarm_service::history(std::size_t last) { return alarms::history_rows(*engine_, last); }

std::vector<introspect::valve_row> alarm_service::valves() { return alarms::valve_rows(*engine_); }

void alarm_service::set(const std::string& id, const std::string& severity, const std::string& description) {
  engine_->set(id, alarms::severity_named(severity), description, now_ms());
}

bool alarm_service::override_valve(const std::string& id, const std::string& mode, std::int64_t for_ms) {
  const auto m = alarms::parse_override_mode(mode).value_or(alarms::engine::override_mode::automatic);
  return engine_->override_valve(id, m, now_ms() + for_ms);
}

}  // namespace agner::node
