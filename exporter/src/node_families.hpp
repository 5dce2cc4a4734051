#pragma once
/// The exporter's metric table: each row one family {name, type, help, samples}, the samples read
/// from one node snapshot (introspect::system_info), the sampler's table summary and the named
/// processes. Adding a node metric is adding a row here and a line in docs/metrics.md (a test
/// checks that the two agree).
#include <cstdint>
#include <iterator>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <prometheus/metric_family.h>

#include "agner/snapshot/snapshot.hpp"
#include "agner/snapshot/counters.hpp"

namespace agner::exporter {

/// Queue-length bucket bounds for agner_message_queue_length (processes per bucket).
inline constexpr double queue_buckets[] = {0, 1, 10, 100, 1000, 10000, 100000};

/// What the sampler learns from one scan of the process table.
struct table_summary {
  std::uint64_t processes = 0;
  std::uint64_t queue_max = 0, queue_sum = 0;
  std::uint64_t bucket_counts[std::size(queue_buckets)] = {};
  std::uint64_t oldest_age_ms = 0;
  double scan_seconds = 0;
  double taken_at = 0;  // unix seconds
};

/// What one scrape renders the table from.
struct node_sources {
  const introspect::node_info& node;  ///< system_info, taken for this scrape
  const table_summary& table;         ///< the sampler's latest
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
