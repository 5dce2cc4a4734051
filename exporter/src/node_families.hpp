#pragma once
/// The exporter's metric table: each row one family {name, type, help, samples}, the samples read
/// from one node snapshot (introspect::node_snapshot: system_info at the tick, the last table scan's
/// summary and the named processes). Adding a node metric is adding a row here and a line in docs/metrics.md (a test
/// checks that the two agree).
#include <cstdint>
#include <iterator>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <prometheus/metric_family.h>

#include "agner/snapshot/node_snapshot.hpp"

namespace agner::exporter {

using introspect::queue_buckets;
using introspect::table_summary;

/// What one scrape renders the table from.
struct node_sources {
  const introspect::node_info& node;  ///< system_info at the snapshot's tick
  const table_summary& table;         ///< the last table scan at or before that tick
  std::string_view node_name;
  /// The operator's chosen registered names that are alive, with their counters.
  const std::vector<std::pair<std::string, process_counters>>& named;
};

struct node_family {
  std::string_view name;
  prometheus::MetricType type;
  std::string_view help;
  /// Appends the family's samples (labels and value; none: the family is left out).
  void (*samples)(const node_sources&, std::vector<prometheus::ClientMetric>&);
};

/// The table, in scrape order. Static; thread-safe.
std::span<const node_family> node_family_table();

/// Appends one MetricFamily per table row that has samples. O(families + schedulers + named).
void render_node_families(const node_sources& in, std::vector<prometheus::MetricFamily>& out);

}  // namespace agner::exporter
