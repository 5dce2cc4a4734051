#pragma once
/// The node's snapshot, collected once per tick and shared by its in-process readers (the
/// exporter renders it on each scrape, the alarm engine evaluates it on each of its ticks), so two
/// readers looking at the same generation see the same figures.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agner/runtime/runtime.hpp"
#include "agner/snapshot/node_snapshot.hpp"

namespace agner::introspect {

/// The wait before the next table scan: uniform in [0.8, 1.2] x `every` (whole milliseconds),
/// drawn from `seed`, so the scan cannot stay in phase with a periodic workload. Pure; O(1).
std::chrono::milliseconds jittered(std::chrono::milliseconds every, std::uint64_t seed);

/// Summarises the process table (queue lengths and ages). Cost: one runtime::scan, O(every slot
/// ever used), atomics only; no lock the message path uses. Thread-safe.
table_summary scan_table(const runtime& rt);

struct collector_options {
  /// Ticks of the collector's own thread. Zero: it has none, and its owner calls tick() (the
  /// embeddable node ticks it from the alarm engine's ticker, every rules tick_ms).
  std::chrono::milliseconds tick{0};
  /// The average wait between two table scans, made on ticks (a tick scans when the jittered wait
  /// since the last scan is over). Must be positive.
  std::chrono::milliseconds scan_every{5000};
  /// Registered names whose counters each snapshot carries (node_snapshot::named); at most 50,
  /// each once.
  std::vector<std::string> processes;
};

class collector final : public snapshot_source {
 public:
  /// Collects the first snapshot (a table scan included) before returning, then starts the tick
  /// thread if o.tick is positive. The first tick after that scans the table again (the owner's
  /// processes usually start after its collector); later ones every scan_every. `rt` must outlive the collector. Throws std::runtime_error
  /// naming the culprit: more than 50 names, a name twice, scan_every or tick out of range.
  collector(const runtime& rt, collector_options o);
  ~collector() override;  ///< stops and joins the tick thread, if any
  collector(const collector&) = delete;
  collector& operator=(const collector&) = delete;

  /// Collects and publishes a new snapshot (generation + 1) and returns it: system_info
  /// (O(schedulers), one read of /proc/self/statm), a whereis and process_info per chosen name and,
  /// when due, a table scan (O(slots)). One thread at a time: the tick thread, or the owner's when
  /// it has none.
  std::shared_ptr<const node_snapshot> tick();
  /// The last published snapshot. Thread-safe; O(1): a mutex held for a shared_ptr copy.
  std::shared_ptr<const node_snapshot> latest() const override;

 private:
  const runtime& rt_;
  collector_options opts_;
  std::uint64_t seed_;
  std::chrono::steady_clock::time_point next_scan_;  // tick()'s only
  mutable std::mutex mutex_;  // latest_ only; held for a pointer copy
  std::shared_ptr<const node_snapshot> latest_;
  std::mutex wait_mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace agner::introspect
