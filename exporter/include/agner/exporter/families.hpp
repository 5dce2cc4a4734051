#pragma once
/// The families the exporter renders from the node's counters: the names, types and help texts of
/// its one metric table, for docs/metrics.md's check and for tools.
#include <string_view>
#include <vector>

namespace agner::exporter {

/// One family of the metric table (docs/metrics.md's first table lists each with the same type).
struct family_doc {
  std::string_view name;  ///< agner_..., without the _bucket/_sum/_count of a histogram
  std::string_view type;  ///< "counter", "gauge" or "histogram"
  std::string_view help;  ///< the HELP text a scrape serves
};

/// Every family of the metric table, in scrape order. Leaves out the alarms' families, the HTTP
/// server's own (agner_metrics_*), process_* and business metrics, which come from elsewhere.
/// Pure and thread-safe; O(families), the strings are static.
std::vector<family_doc> node_families();

}  // namespace agner::exporter
