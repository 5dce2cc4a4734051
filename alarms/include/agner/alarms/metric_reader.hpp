#pragma once
/// The values alarm rules read on a tick (engine::reader): the system metrics over the node's last
/// two snapshots, and the application's business metrics. Per-process metrics have no value here:
/// they reach the engine as engine::process_event from the runtime's queue watch.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "agner/introspect/snapshot.hpp"

namespace agner::alarms {

class metric_reader {
 public:
  using labels = std::map<std::string, std::string>;
  /// Looks up business metric `name` (without "business:") with `labels`; nullopt when it has none.
  using business_lookup = std::function<std::optional<double>(const std::string& name, const labels& l)>;

  /// `first` is the snapshot rates start from, taken at `first_ms` (wall-clock milliseconds).
  /// An empty `business` gives business metrics no value.
  metric_reader(introspect::node_info first, std::int64_t first_ms, business_lookup business);

  /// Takes the snapshot `now`, taken at `now_ms`: the system metrics are recomputed over it and the
  /// previous one (a rate over at least 1 ms), once per tick, so two rules on a rate see the same
  /// interval. O(system metrics + schedulers).
  void sample(introspect::node_info now, std::int64_t now_ms);
  /// `metric` as a rule names it: a system metric (as of the last sample), business:NAME (looked up
  /// now), anything else nullopt. O(log system metrics), plus the business lookup.
  std::optional<double> read(const std::string& metric, const labels& l) const;

  // Not thread-safe: one thread samples and reads (the node's alarm ticker, inside engine::tick).

 private:
  business_lookup business_;
  introspect::node_info last_;
  std::int64_t last_ms_;
  std::map<std::string, double> system_;  // the last sample
};

}  // namespace agner::alarms
