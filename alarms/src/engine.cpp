#include "agner/alarms/engine.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "agner/alarms/metric_names.hpp"
#include "agner/alarms/valve_control.hpp"
#include "agner/snapshot/visible_text.hpp"

namespace agner::alarms {
namespace {

std::uint32_t random32() noexcept {  // xorshift: per thread, no shared state
  thread_local std::uint32_t x = 0x9e3779b9u ^ static_cast<std::uint32_t>(reinterpret_cast<std::uintptr_t>(&x));
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return x;
}

std::string level_name(const alarm_rule* r, int level) {
  if (level < 0) return "inactive";
  return std::string(to_string(r->levels[static_cast<std::size_t>(level)].sev));
}

}  // namespace

bool valve::admit(std::size_t cls) noexcept {
  if (cls >= max_classes) cls = max_classes - 1;
  auto& c = counts_[cls];
  c.offered.fetch_add(1, std::memory_order_relaxed);
  const std::uint32_t below = shed_below_[cls].load(std::memory_order_relaxed);
  if (below == 0 || (below != shed_all && random32() >= below)) {
    c.admitted.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  if (shadow_.load(std::memory_order_relaxed)) {  // count what would be shed, shed nothing
    c.would_shed.fetch_add(1, std::memory_order_relaxed);
    c.admitted.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  c.shed.fetch_add(1, std::memory_order_relaxed);
  return false;
}

valve::counts valve::count(std::size_t cls) const noexcept {
  if (cls >= max_classes) return {};
  const auto& c = counts_[cls];
  return {c.offered.load(std::memory_order_relaxed), c.admitted.load(std::memory_order_relaxed),
          c.shed.load(std::memory_order_relaxed), c.would_shed.load(std::memory_order_relaxed)};
}

engine::engine(rules r, reader read, std::function<void(std::string_view)> log)
    : read_(std::move(read)), log_(std::move(log)) {
  reload(std::move(r));
}

void engine::reload(rules r) {
  std::lock_guard lock(mutex_);
  std::map<std::string, alarm_state> kept;
  for (auto& a : r.alarms) {
    auto it = states_.find(a.id);
    alarm_state s = it == states_.end() ? alarm_state{} : it->second;
    // A level that no longer exists is let go: the alarm starts over from what the rule says.
    if (s.active >= static_cast<int>(a.levels.size())) s = alarm_state{};
    kept.emplace(a.id, s);
  }
  states_ = std::move(kept);
  if (r.classes.size() > valve::max_classes) r.classes.resize(valve::max_classes);
  for (auto& v : r.valves) {
    auto& slot = valves_[v.id];
    if (!slot.v) {
      slot.v = std::make_unique<valve>();
      slot.v->id_ = v.id;
    }
    slot.v->shadow_.store(v.shadow, std::memory_order_relaxed);
  }
  rules_ = std::move(r);
  while (history_.size() > rules_.history_size) history_.pop_front();
}

std::int64_t engine::tick_ms() const {
  std::lock_guard lock(mutex_);
  return rules_.tick_ms;
}

void engine::note(transition t) {
  // An application alarm's id comes from whoever raised it (agner-ctl set): shown visibly, as
  // everywhere else a node's text reaches a log or a terminal.
  if (log_)
    log_(fmt::format("alarm {}{}: {} -> {} (value {})", visible_text(t.alarm),
                     t.source.empty() ? "" : " (" + visible_text(t.source) + ")", t.from, t.to, t.value));
  count_transition(t.alarm);
  history_.push_back(std::move(t));
  while (history_.size() > rules_.history_size) history_.pop_front();
}

void engine::move_to(const alarm_rule* r, const std::string& id, alarm_state& s, int level, std::int64_t now,
                     const std::string& source) {
  const std::string from = level_name(r, s.active), to = level_name(r, level);
  enter(s, level, now);
  note({now, id, source, from, to, s.value});
}

std::optional<double> engine::windowed_mean(const alarm_rule& r, alarm_state& s, std::int64_t now) {
  const auto sum = read_(r.metric + "_sum", r.labels), count = read_(r.metric + "_count", r.labels);
  if (!sum || !count) return std::nullopt;
  auto& w = s.samples;
  w.push_back({now, *sum, *count});
  // Keep one sample at or before the window's start as the baseline, none older.
  while (w.size() > 1 && w[1].at <= now - r.mean_over_ms) w.pop_front();
  const double observed = *count - w.front().count;
  return observed > 0 ? (*sum - w.front().sum) / observed : 0.0;
}

void engine::evaluate(const alarm_rule& r, alarm_state& s, std::int64_t now) {
  const auto v = !read_ ? std::nullopt : r.mean_over_ms > 0 ? windowed_mean(r, s, now) : read_(r.metric, r.labels);
  if (!v) return;
  if (const auto level = step(r, s, *v, now)) move_to(&r, r.id, s, *level, now, "");
}

double engine::pressure_of(const alarm_rule& r, const alarm_state& s) const {
  if (per_process(kind_of(r.metric))) {  // the worst firing process
    double worst = 0;
    bool any = false;
    for (auto& [key, ps] : per_process_)
      if (key.first == r.id && ps.active >= 0) {
        any = true;
        worst = std::max(worst, ps.value);
      }
    return any ? firing_pressure(r, worst) : 0;
  }
  return s.active < 0 ? 0 : firing_pressure(r, s.value);
}

void engine::update_valve(valve_slot& slot, const valve_rule* rule, std::int64_t now) {
  double target = 0;
  if (rule)
    for (auto& id : rule->triggers)
      for (auto& a : rules_.alarms)
        if (a.id == id) target = std::max(target, pressure_of(a, states_[id]));
  slot.pressure = next_pressure(slot.pressure, target, now - slot.last_ms, rule ? rule->release_ms : 1);
  slot.last_ms = now;
  if (slot.mode != override_mode::automatic && now >= slot.override_until) {
    if (log_) log_(fmt::format("valve {}: operator override expired, back to automatic", slot.v->id_));
    slot.mode = override_mode::automatic;
  }
  valve& v = *slot.v;
  v.pressure_milli_.store(static_cast<std::uint32_t>(slot.pressure * 1000 + 0.5), std::memory_order_relaxed);
  for (std::size_t c = 0; c < valve::max_classes; ++c)
    v.shed_below_[c].store(c < rules_.classes.size() ? shed_below(rules_.classes[c], slot.pressure, slot.mode) : 0,
                           std::memory_order_relaxed);
}

void engine::process_event(const std::string& metric, const std::string& source, bool on, double value, std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  for (auto& r : rules_.alarms) {
    if (r.metric != metric) continue;
    auto key = std::make_pair(r.id, source);
    auto it = per_process_.find(key);
    if (on) {
      auto& s = per_process_[key];
      s.value = value;
      s.clearing_since = -1;
      if (s.active < 0 && s.pending < 0) {
        s.pending = 0;
        s.pending_since = now_ms;
      }
    } else if (it != per_process_.end()) {
      it->second.value = value;
      if (it->second.active < 0) {
        per_process_.erase(it);  // never fired: nothing to clear
      } else if (it->second.clearing_since < 0) {
        it->second.clearing_since = now_ms;
      }
    }
  }
}

engine::watch_thresholds engine::process_thresholds() const {
  std::lock_guard lock(mutex_);
  watch_thresholds t;
  for (auto& r : rules_.alarms) {
    if (r.levels.empty()) continue;
    const auto raise = static_cast<std::uint32_t>(std::max(1.0, r.levels[0].raise));
    const auto clear = static_cast<std::uint32_t>(std::max(0.0, r.levels[0].clear));
    const auto kind = kind_of(r.metric);
    if (kind == metric_kind::message_queue_len && (!t.long_len || raise < t.long_len)) t.long_len = raise, t.short_len = clear;
    if (kind == metric_kind::oldest_message_age && (!t.old_ms || raise < t.old_ms)) t.old_ms = raise, t.young_ms = clear;
  }
  return t;
}

void engine::tick(std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  for (auto& a : rules_.alarms) evaluate(a, states_[a.id], now_ms);
  for (auto it = per_process_.begin(); it != per_process_.end();) {
    const alarm_rule* r = nullptr;
    for (auto& a : rules_.alarms)
      if (a.id == it->first.first) r = &a;
    auto& s = it->second;
    if (!r) {  // its rule went away in a reload
      it = per_process_.erase(it);
      continue;
    }
    if (s.active < 0 && s.pending >= 0 && now_ms - s.pending_since >= r->for_ms) {
      s.pending = -1;
      move_to(r, r->id, s, 0, now_ms, it->first.second);
    }
    if (s.active >= 0 && s.clearing_since >= 0 && now_ms - s.clearing_since >= r->hold_ms) {
      move_to(r, r->id, s, -1, now_ms, it->first.second);
      it = per_process_.erase(it);
      continue;
    }
    ++it;
  }
  for (auto& [id, slot] : valves_) {
    const valve_rule* rule = nullptr;
    for (auto& v : rules_.valves)
      if (v.id == id) rule = &v;
    update_valve(slot, rule, now_ms);
  }
}

void engine::set(const std::string& id, severity sev, const std::string& description, std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  auto& s = programmatic_[id];
  const bool was = s.active >= 0;
  const std::string from = was ? std::string(to_string(s.programmatic)) : "inactive";
  if (!was) s.raised_at = now_ms;
  if (!was || sev > s.programmatic) s.acknowledged = false;
  s.description = description;
  const bool changed = !was || sev != s.programmatic;
  s.programmatic = sev;
  s.active = 0;
  if (changed) note({now_ms, id, "application", from, std::string(to_string(sev)), 0});
}

bool engine::clear(const std::string& id, std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  auto it = programmatic_.find(id);
  if (it == programmatic_.end()) return false;
  note({now_ms, id, "application", std::string(to_string(it->second.programmatic)), "inactive", 0});
  programmatic_.erase(it);
  return true;
}

bool engine::acknowledge(const std::string& id) {
  std::lock_guard lock(mutex_);
  if (auto it = programmatic_.find(id); it != programmatic_.end()) return it->second.acknowledged = true;
  if (auto it = states_.find(id); it != states_.end() && it->second.active >= 0) return it->second.acknowledged = true;
  bool any = false;  // a per-process rule: every process it fires for
  for (auto& [key, s] : per_process_)
    if (key.first == id && s.active >= 0) any = s.acknowledged = true;
  return any;
}

bool engine::override_valve(const std::string& id, override_mode m, std::int64_t until_ms) {
  std::lock_guard lock(mutex_);
  auto it = valves_.find(id);
  if (it == valves_.end()) return false;
  it->second.mode = m;
  it->second.override_until = until_ms;
  if (log_) log_(fmt::format("valve {}: operator override {} until {}", id, to_string(m), until_ms));
  return true;
}

valve& engine::valve_named(const std::string& id) {
  std::lock_guard lock(mutex_);
  auto& slot = valves_[id];
  if (!slot.v) {
    slot.v = std::make_unique<valve>();
    slot.v->id_ = id;
  }
  return *slot.v;
}

std::size_t engine::class_index(std::string_view name) const {
  std::lock_guard lock(mutex_);
  for (std::size_t i = 0; i < rules_.classes.size(); ++i)
    if (rules_.classes[i].name == name) return i;
  return rules_.classes.empty() ? 0 : rules_.classes.size() - 1;
}

std::string_view to_string(engine::override_mode m) {
  switch (m) {
    case engine::override_mode::open: return "open";
    case engine::override_mode::closed: return "closed";
    case engine::override_mode::automatic: return "automatic";
  }
  return "automatic";
}

std::optional<engine::override_mode> parse_override_mode(std::string_view name) {
  for (auto m : {engine::override_mode::automatic, engine::override_mode::open, engine::override_mode::closed})
    if (to_string(m) == name) return m;
  return std::nullopt;
}

std::vector<introspect::alarm_row> engine::active() const {
  std::lock_guard lock(mutex_);
  std::vector<introspect::alarm_row> rows;
  for (auto& a : rules_.alarms) {
    auto it = states_.find(a.id);
    if (it == states_.end() || it->second.active < 0) continue;
    const auto& s = it->second;
    rows.push_back({a.id, "system", std::string(to_string(a.levels[static_cast<std::size_t>(s.active)].sev)),
                    a.description.empty() ? fmt::format("{} = {}", a.metric, s.value) : a.description,
                    static_cast<std::uint64_t>(s.raised_at), s.acknowledged});
    if (kind_of(a.metric) == metric_kind::business) rows.back().source = "business";
  }
  for (auto& [key, s] : per_process_) {
    if (s.active < 0) continue;
    for (auto& a : rules_.alarms)
      if (a.id == key.first)
        rows.push_back({key.first, key.second, std::string(to_string(a.levels[0].sev)),
                        a.description.empty() ? fmt::format("{} = {}", a.metric, s.value) : a.description,
                        static_cast<std::uint64_t>(s.raised_at), s.acknowledged});
  }
  for (auto& [id, s] : programmatic_)
    rows.push_back({id, "application", std::string(to_string(s.programmatic)), s.description,
                    static_cast<std::uint64_t>(s.raised_at), s.acknowledged});
  return rows;
}

std::vector<transition> engine::history() const {
  std::lock_guard lock(mutex_);
  return {history_.begin(), history_.end()};
}

std::vector<engine::valve_state> engine::valves() const {
  std::lock_guard lock(mutex_);
  std::vector<valve_state> out;
  for (auto& [id, slot] : valves_) {
    valve_state v{id, slot.pressure, slot.v->shadow_.load(), std::string(to_string(slot.mode)), {}};
    for (std::size_t c = 0; c < rules_.classes.size(); ++c) v.classes.emplace_back(rules_.classes[c].name, slot.v->count(c));
    out.push_back(std::move(v));
  }
  return out;
}

void engine::count_transition(const std::string& id) {
  auto [it, fresh] = transitions_.try_emplace(id);
  auto& c = it->second;
  ++c.count;
  if (fresh)
    c.at = transitions_recent_.insert(transitions_recent_.begin(), id);
  else
    transitions_recent_.splice(transitions_recent_.begin(), transitions_recent_, c.at);
  while (transitions_recent_.size() > max_transition_ids) {
    auto last = transitions_.find(transitions_recent_.back());
    transitions_evicted_ += last->second.count;
    transitions_.erase(last);
    transitions_recent_.pop_back();
  }
}

engine::transition_counts engine::transitions_total() const {
  std::lock_guard lock(mutex_);
  transition_counts out;
  for (const auto& [id, c] : transitions_) out.by_id.emplace(id, c.count);
  out.evicted = transitions_evicted_;
  return out;
}

}  // namespace agner::alarms
