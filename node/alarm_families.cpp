#include "alarm_families.hpp"

#include <algorithm>
#include <tuple>

namespace agner::node {

std::vector<exporter::extra_family> alarm_families::collect(const alarms::engine& e) const {
  auto rows = e.active();
  const auto rank = [](const std::string& name) {  // critical first
    const auto s = alarms::parse_severity(name);
    return -static_cast<int>(s.value_or(alarms::severity::warning));
  };
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
    const auto counts = e.transitions_total();
    auto v = transitions_fold_.update(counts.by_id, counts.evicted);
    for (auto& [id, n] : v.shown) transitions.samples.push_back({{{"alarm", id}}, n});
    folded.samples.push_back({{}, v.folded});
  }
  exporter::extra_family pressure{"agner_valve_pressure", "A valve's pressure, 0 (open) to 1 (shedding all but the system class).", false, {}};
  exporter::extra_family offered{"agner_valve_offered_total", "Work offered to a valve, by class.", true, {}};
  exporter::extra_family shed{"agner_valve_shed_total", "Work a valve refused, by class.", true, {}};
  exporter::extra_family would{"agner_valve_would_shed_total", "Work a valve in shadow mode would have refused, by class.", true, {}};
  for (auto& v : e.valves()) {
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
