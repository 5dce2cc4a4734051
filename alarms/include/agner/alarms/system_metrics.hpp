#pragma once
/// The system metrics an alarm rule may watch (docs/alarms.md), as one table: each a value over two
/// node snapshots a tick apart. rules.cpp accepts exactly these names; the node computes them here.
#include <map>
#include <span>
#include <string>
#include <string_view>

#include "agner/introspect/snapshot.hpp"

namespace agner::alarms {

struct system_metric {
  std::string_view name;  ///< as a rule writes it ("run_queue")
  std::string_view unit;  ///< "processes", "ratio", "bytes", "per_second"
  /// Its value now; `before` is the snapshot of the previous tick, `dt_s` the seconds between them (> 0).
  double (*value)(const introspect::node_info& now, const introspect::node_info& before, double dt_s);
};

/// Every system metric, sorted by name. Static; thread-safe.
std::span<const system_metric> system_metrics();
/// The metric called `name`, or nullptr. O(metrics).
const system_metric* find_system_metric(std::string_view name);
/// Every metric's value over the pair (rule metric name -> value). Pure; O(metrics + schedulers).
std::map<std::string, double> sample_system(const introspect::node_info& now, const introspect::node_info& before,
                                            double dt_s);

}  // namespace agner::alarms
