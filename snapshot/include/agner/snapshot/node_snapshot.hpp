#pragma once
/// One tick's view of a node, shared by every in-process reader (the exporter, the alarms): the
/// node_info row, the summary of the process table's last scan and the counters of the registered
/// processes chosen for per-process metrics. introspect::collector makes them; a reader takes the
/// latest through snapshot_source. Plain data; no reference into the runtime.
#include <cstdint>
#include <iterator>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "agner/snapshot/counters.hpp"
#include "agner/snapshot/snapshot.hpp"

namespace agner::introspect {

/// Queue-length bucket bounds of table_summary::bucket_counts (processes per bucket), as
/// agner_message_queue_length's `le` labels.
inline constexpr double queue_buckets[] = {0, 1, 10, 100, 1000, 10000, 100000};

/// What one scan of the process table found. Scans are rarer than ticks (collector_options::
/// scan_every): a snapshot carries the last scan's summary and says when it was taken.
struct table_summary {
  std::uint64_t processes = 0;  ///< live processes the scan saw
  std::uint64_t queue_max = 0;  ///< longest message queue, messages
  std::uint64_t queue_sum = 0;  ///< messages queued in all processes
  std::uint64_t bucket_counts[std::size(queue_buckets)] = {};  ///< processes with queue length <= each bound
  std::uint64_t oldest_age_ms = 0;  ///< age of the oldest queued message, milliseconds
  double scan_seconds = 0;          ///< how long the scan took
  double taken_at = 0;              ///< when it finished, unix seconds
  bool operator==(const table_summary&) const = default;
};

/// One tick's snapshot. Immutable once published: readers share it through a shared_ptr.
struct node_snapshot {
  std::uint64_t generation = 0;  ///< 1 for a node's first snapshot, +1 per tick: two readers holding
                                 ///< the same generation saw the same figures
  double taken_at = 0;           ///< when `node` was read, unix seconds
  node_info node;                ///< system_info at the tick (name and alarms left empty)
  table_summary table;           ///< the last table scan (at or before the tick)
  /// The chosen registered names alive at the tick, with their counters, in the order chosen.
  std::vector<std::pair<std::string, process_counters>> named;
  bool operator==(const node_snapshot&) const = default;
};

/// Where a reader takes the node's latest snapshot from (introspect::collector is the one the
/// node uses; a test may serve fixed snapshots).
class snapshot_source {
 public:
  virtual ~snapshot_source() = default;
  /// The latest snapshot; never null once the source is constructed. Thread-safe; O(1): a mutex
  /// held for a shared_ptr copy, no runtime access.
  virtual std::shared_ptr<const node_snapshot> latest() const = 0;
};

}  // namespace agner::introspect
