#include "alarm_service.hpp"

#include <algorithm>
#include <chrono>
#include <tuple>
#include <stdexcept>

#include <fmt/format.h>

#include "agner/alarms/rows.hpp"
#include "agner/alarms/system_metrics.hpp"
#include "agner/introspect/queries.hpp"

namespace agner::node {
namespace {

std::vector<std::string> lines_of(const std::vector<alarms::rule_error>& errors) {
  std::vector<std::string> out;
  for (auto& e : errors) out.push_back(e.text());
  return out;
}

}  // namespace

std::vector<std::string> check_rules(const std::string& file) {
  auto r = alarms::load_rules(file);
  if (auto* errors = std::get_if<std::vector<alarms::rule_error>>(&r)) return lines_of(*errors);
  return {};
}

std::int64_t alarm_service::now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

alarm_service::alarm_service(runtime& rt, std::shared_ptr<exporter::metrics> business, const std::string& rules_file,
                             std::string node_name)
    : rt_(rt), business_(std::move(business)), file_(rules_file), node_name_(std::move(node_name)) {
  alarms::rules r;
  r.classes = {{"system", true, 0, 1}, {"critical", false, 0.9, 1}, {"normal", false, 0.5, 0.95}, {"batch", false, 0, 0.5}};
  if (!file_.empty()) {
    auto loaded = alarms::load_rules(file_);
    if (auto* errors = std::get_if<std::vector<alarms::rule_error>>(&loaded)) {
      std::string text;
      for (auto& l : lines_of(*errors)) text += "\n  " + l;
      throw std::runtime_error(fmt::format("the rules file has errors:{}", text));
    }
    r = std::get<alarms::rules>(loaded);
  }
  warnings_ = r.warnings;
  engine_ = std::make_unique<alarms::engine>(
      r, [this](const std::string& m, const std::map<std::string, std::string>& l) { return read(m, l); },
      [&rt](std::string_view line) { rt.log(line); });
  last_ = introspect::system_info(rt_);
  last_ms_ = now_ms();
  rt_.watch_queues([this](const queue_event& e) {
    std::lock_guard lock(events_mutex_);
    if (events_.size() < 100'000) events_.push_back(e);  // bounded: a tick drains it
  });
  watch_thresholds();
  notifier_for(r);
  ticker_ = std::thread([this] {
    std::unique_lock lock(mutex_);
    for (;;) {
      const auto tick = std::chrono::milliseconds(engine_->tick_ms());
      if (wake_.wait_for(lock, tick, [this] { return stopping_; })) return;
      lock.unlock();
      drain_queue_events();
      const auto now = now_ms();
      sample_system(now);
      engine_->tick(now);
      {
        std::lock_guard notify_lock(notifier_mutex_);  // update() never waits on the network
        if (notifier_) notifier_->update(engine_->active(), now);
      }
      lock.lock();
    }
  });
  reloader_ = std::thread([this] {
    std::unique_lock lock(reload_mutex_);
    for (;;) {
      reload_wake_.wait(lock, [this] { return reload_stopping_ || reload_requested_ > reload_started_; });
      if (reload_stopping_) return;
      reload_started_ = reload_requested_;
      lock.unlock();
      std::vector<std::string> result;
      try {
        result = reload_now();
      } catch (const std::exception& e) {  // a thread boundary: never take the node down
        result = {fmt::format("the reload failed: {}", e.what())};
        rt_.log(fmt::format("rules reload failed; the old rules stay in force: {}", e.what()));
      }
      lock.lock();
      reload_result_ = std::move(result);
      reload_finished_ = reload_started_;
      reload_done_.notify_all();
    }
  });
}

void alarm_service::request_reload() {
  {
    std::lock_guard lock(reload_mutex_);
    ++reload_requested_;
  }
  reload_wake_.notify_one();
}

std::vector<std::string> alarm_service::reload() {
  std::unique_lock lock(reload_mutex_);
  const auto mine = ++reload_requested_;
  reload_wake_.notify_one();
  if (!reload_done_.wait_for(lock, std::chrono::milliseconds(reload_wait_ms), [&] { return reload_finished_ >= mine; })) {
    rt_.log(fmt::format("rules reload: still running after {} ms; its outcome will be logged", reload_wait_ms));
    return {fmt::format("the reload is still running after {} ms; its outcome will be logged", reload_wait_ms)};
  }
  return reload_result_;
}

alarm_service::~alarm_service() { stop(); }

void alarm_service::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  {
    std::lock_guard lock(reload_mutex_);
    reload_stopping_ = true;
  }
  reload_wake_.notify_all();
  // Both finish what they are doing (a tick; a reload of a bounded file, a notifier's bounded stop).
  if (ticker_.joinable()) ticker_.join();
  if (reloader_.joinable()) reloader_.join();
  // The sender logs through the runtime: it stops now, while the runtime is still there (bounded).
  std::unique_ptr<alertmanager_notifier> notifier;
  {
    std::lock_guard lock(notifier_mutex_);
    notifier = std::move(notifier_);
  }
}

void alarm_service::notifier_for(const alarms::rules& r) {
  std::unique_ptr<alertmanager_notifier> old;  // stopped outside the lock the ticker takes
  std::lock_guard lock(notifier_mutex_);
  if (!r.alertmanager) {
    old = std::move(notifier_);
    notifier_url_.clear();
  } else if (!notifier_ || notifier_url_ != r.alertmanager->url) {  // same URL: keep what it sent
    notifier_url_ = r.alertmanager->url;
    old = std::exchange(notifier_, std::make_unique<alertmanager_notifier>(*r.alertmanager, node_name_, r.tick_ms,
                                                                         [this](std::string_view line) { rt_.log(line); }));
  }
}

void alarm_service::watch_thresholds() {
  const auto t = engine_->process_thresholds();
  rt_.set_queue_watch(t.long_len, t.short_len, t.old_ms, t.young_ms);
}

void alarm_service::drain_queue_events() {
  std::vector<queue_event> events;
  {
    std::lock_guard lock(events_mutex_);
    events.swap(events_);
  }
  const auto now = now_ms();
  for (auto& e : events) {
    const bool length = e.what == queue_event::kind::long_queue || e.what == queue_event::kind::short_again;
    const bool on = e.what == queue_event::kind::long_queue || e.what == queue_event::kind::old_message;
    // The source names the process as it was when the alarm began, so the clear finds it even
    // after the process (and its registered name) is gone.
    const auto key = std::make_pair(fmt::format("{}", e.who), length);
    std::string source = key.first;
    if (on) {
      if (auto info = rt_.process_info(e.who); info && !info->registered_name.empty()) source += " " + info->registered_name;
      sources_[key] = source;
    } else if (auto it = sources_.find(key); it != sources_.end()) {
      source = it->second;
      sources_.erase(it);
    }
    engine_->process_event(length ? "process:message_queue_len" : "process:oldest_message_age_ms", source, on,
                           static_cast<double>(e.value), now);
  }
}

void alarm_service::sample_system(std::int64_t now) {
  auto n = introspect::system_info(rt_);
  system_ = alarms::sample_system(n, last_, static_cast<double>(std::max<std::int64_t>(1, now - last_ms_)) / 1000);
  last_ = std::move(n);
  last_ms_ = now;
}

std::optional<double> alarm_service::read(const std::string& metric, const std::map<std::string, std::string>& labels) {
  if (metric.starts_with("business:")) return business_ ? business_->value(metric.substr(9), labels) : std::nullopt;
  if (auto it = system_.find(metric); it != system_.end()) return it->second;
  return std::nullopt;  // a per-process metric: those come from the queue watch
}

std::vector<std::string> alarm_service::reload_now() {
  if (file_.empty()) return {"no rules file was given (--rules)"};
  auto loaded = alarms::load_rules(file_);
  if (auto* errors = std::get_if<std::vector<alarms::rule_error>>(&loaded)) {
    auto lines = lines_of(*errors);
    rt_.log(fmt::format("rules reload failed; the old rules stay in force ({} error{}):", lines.size(), lines.size() == 1 ? "" : "s"));
    for (auto& l : lines) rt_.log(fmt::format("  {}", l));
    engine_->set("rules_reload_failed", alarms::severity::major, fmt::format("{} (old rules in force)", lines.front()), now_ms());
    return lines;
  }
  const auto& fresh = std::get<alarms::rules>(loaded);
  engine_->reload(fresh);
  {
    std::lock_guard lock(warnings_mutex_);
    warnings_ = fresh.warnings;
  }
  watch_thresholds();
  notifier_for(fresh);
  engine_->clear("rules_reload_failed", now_ms());
  rt_.log(fmt::format("rules reloaded from {}", file_));
  return {};
}

std::vector<introspect::alarm_event> alarm_service::history(std::size_t last) {
  return alarms::history_rows(*engine_, last);
}

std::vector<introspect::valve_row> alarm_service::valves() { return alarms::valve_rows(*engine_); }

void alarm_service::set(const std::string& id, const std::string& severity, const std::string& description) {
  auto s = alarms::parse_severity(severity);
  if (!s) throw std::invalid_argument(fmt::format("unknown severity '{}' (critical, major, minor, warning)", severity));
  engine_->set(id, *s, description, now_ms());
}

bool alarm_service::override_valve(const std::string& id, const std::string& mode, std::int64_t for_ms) {
  const auto m = mode == "open" ? alarms::engine::override_mode::open
                 : mode == "closed" ? alarms::engine::override_mode::closed
                                    : alarms::engine::override_mode::automatic;
  return engine_->override_valve(id, m, now_ms() + for_ms);
}

std::vector<exporter::extra_family> alarm_service::metrics() const {
  // Bounded (docs/metrics.md): one active series per (alarm, source), the most severe and most
  // recent first, at most max_active_series; transitions for the 100 ids that changed last, the rest
  // (and the ids the engine evicted past engine::max_transition_ids) folded into
  // agner_alarm_transitions_folded_total.
  constexpr std::size_t max_active_series = 1000;
  auto rows = engine_->active();
  const auto rank = [](const std::string& s) { return s == "critical" ? 0 : s == "major" ? 1 : s == "minor" ? 2 : 3; };
  std::sort(rows.begin(), rows.end(), [&](const auto& a, const auto& b) {
    return std::tuple(rank(a.severity), b.raised_at_ms, a.id, a.source) < std::tuple(rank(b.severity), a.raised_at_ms, b.id, b.source);
  });
  exporter::extra_family count{"agner_alarms_active", "Active alarms, all of them (agner_alarm_active lists at most 1,000).", false,
                               {{{}, static_cast<double>(rows.size())}}};
  exporter::extra_family active{"agner_alarm_active", "Active alarms (1), by alarm, severity and source.", false, {}};
  for (std::size_t i = 0; i < rows.size() && i < max_active_series; ++i)
    active.samples.push_back({{{"alarm", rows[i].id}, {"severity", rows[i].severity}, {"source", rows[i].source}}, 1});
  exporter::extra_family transitions{"agner_alarm_transitions_total", "Alarm state changes (raise, escalate, de-escalate, clear).", true, {}};
  exporter::extra_family folded{"agner_alarm_transitions_folded_total",
                                "Alarm state changes of ids that have no agner_alarm_transitions_total series any more.", true, {}};
  {
    std::lock_guard lock(fold_mutex_);
    const auto counts = engine_->transitions_total();
    auto v = transitions_fold_.update(counts.by_id, counts.evicted);
    for (auto& [id, n] : v.shown) transitions.samples.push_back({{{"alarm", id}}, n});
    folded.samples.push_back({{}, v.folded});
  }
  exporter::extra_family pressure{"agner_valve_pressure", "A valve's pressure, 0 (open) to 1 (shedding all but the system class).", false, {}};
  exporter::extra_family offered{"agner_valve_offered_total", "Work offered to a valve, by class.", true, {}};
  exporter::extra_family shed{"agner_valve_shed_total", "Work a valve refused, by class.", true, {}};
  exporter::extra_family would{"agner_valve_would_shed_total", "Work a valve in shadow mode would have refused, by class.", true, {}};
  for (auto& v : engine_->valves()) {
    pressure.samples.push_back({{{"valve", v.id}}, v.pressure});
    for (auto& [cls, c] : v.classes) {
      offered.samples.push_back({{{"valve", v.id}, {"class", cls}}, static_cast<double>(c.offered)});
      shed.samples.push_back({{{"valve", v.id}, {"class", cls}}, static_cast<double>(c.shed)});
      would.samples.push_back({{{"valve", v.id}, {"class", cls}}, static_cast<double>(c.would_shed)});
    }
  }
  return {count, active, transitions, folded, pressure, offered, shed, would};
}

}  // namespace agner::node
