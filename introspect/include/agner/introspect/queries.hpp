#pragma once
/// Queries over a live runtime. None of them stops a scheduler or takes a lock the message path uses.
#include <chrono>
#include <cstddef>
#include <vector>

#include "agner/introspect/snapshot.hpp"
#include "agner/runtime/runtime.hpp"

namespace agner::introspect {

/// Node-wide figures. Cost: O(schedulers); touches no process.
node_info system_info(const runtime& rt, std::chrono::steady_clock::time_point started);

enum class sort_key { message_queue_len, reductions, messages_received, memory };

/// The `n` processes with the largest `key`, largest first, ties broken by pid so rows do not
/// jitter. Cost: one runtime::scan (every slot ever used) with a bounded heap of n rows, then a
/// registry lookup for each row kept. Leaves out on purpose: anything that needs the process's
/// own cooperation (its queued messages, its state), which process_info fetches for one process.
std::vector<process_row> top(const runtime& rt, sort_key key, std::size_t n);

/// Reductions over an interval (etop's per-refresh column, recon's proc_window): remembers each
/// process's reductions between calls. One per reader; not thread-safe. Memory: 16 bytes per process
/// slot ever used (16 MB at a million processes).
class reductions_window {
 public:
  /// The `n` processes that did the most reductions since the previous call, most first, ties by
  /// pid; `reductions_in_window` holds the amount. A process first seen counts all its reductions.
  /// Cost: one runtime::scan with a bounded heap, then a registry lookup per row kept.
  std::vector<process_row> top(const runtime& rt, std::size_t n);

 private:
  struct seen {
    std::uint32_t serial = 0;
    bool valid = false;
    std::uint64_t reductions = 0;
  };
  std::vector<seen> last_;  // by slot index
};

}  // namespace agner::introspect
