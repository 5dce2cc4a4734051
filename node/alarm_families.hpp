#pragma once
// The alarm engine's state as /metrics families (docs/metrics.md): agner_alarms_active,
// agner_alarm_active, agner_alarm_transitions_total (+ _folded_total) and the agner_valve_* families.
#include <cstddef>
#include <mutex>
#include <vector>

#include "agner/alarms/engine.hpp"
#include "agner/exporter/counter_fold.hpp"
#include "agner/exporter/exporter.hpp"

namespace agner::node {

class alarm_families {
 public:
  /// Most agner_alarm_active series: the most severe and most recent alarms first.
  static constexpr std::size_t max_active_series = 1000;
  /// Most agner_alarm_transitions_total series: the ids that changed last; the rest, and the ids
  /// the engine evicted past engine::max_transition_ids, are folded into _folded_total.
  static constexpr std::size_t max_transition_series = 100;

  /// Every family, each bounded as above. Runs on the exporter's scrape thread; thread-safe (the
  /// fold under its own mutex, the engine under its lock, taken three times). O(active alarms log
  /// active alarms + transition ids + valves x classes).
  std::vector<exporter::extra_family> collect(const alarms::engine& e) const;

 private:
  mutable std::mutex fold_mutex_;
  mutable exporter::counter_fold transitions_fold_{max_transition_series};
};

}  // namespace agner::node
