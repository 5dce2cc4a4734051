#pragma once
/// Queries over a live runtime. None of them stops a scheduler or takes a lock the message path uses.
#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <typeinfo>
#include <utility>
#include <vector>

#include "agner/snapshot/snapshot.hpp"
#include "agner/runtime/runtime.hpp"

namespace agner::introspect {

/// Node-wide figures. Cost: O(schedulers), plus one read of /proc/self/statm; touches no process.
/// Leaves out `name` and `alarms` (the node fills them).
node_info system_info(const runtime& rt);

enum class sort_key { message_queue_len, reductions, messages_received, memory, gc_runs, oldest_message_age };
/// "msgq", "reductions", "received", "memory", "gc", "age"; nullopt for anything else.
std::optional<sort_key> parse_sort_key(std::string_view name);
std::string_view to_string(sort_key key);

/// The `n` processes with the largest `key`, largest first, ties broken by pid so rows do not
/// jitter. Cost: one runtime::scan (every slot ever used) with a bounded heap of n rows, then a
/// registry lookup for each row kept. Leaves out on purpose: anything that needs the process's
/// own cooperation (its queued messages, its state), which process_info fetches for one process.
std::vector<process_row> top(const runtime& rt, sort_key key, std::size_t n);

/// Which processes a top query considers: those whose registered name or behaviour type contains
/// `text` (empty: all). Costs one walk of the registry (runtime::visit_registered, no copy) and one
/// demangle per behaviour type seen.
struct name_filter {
  name_filter() = default;
  explicit name_filter(std::string t) : text(std::move(t)) {}
  std::string text;
  /// And, when not empty, only processes of this group (groups.hpp: group_of), as `groups` names it.
  std::string group;
  bool matches(const runtime& rt, const process_sample& s);  // not thread-safe: one per query

 private:
  bool in_group(const runtime& rt, const process_sample& s);  // groups.cpp
  bool group_ready_ = false;
  std::vector<std::pair<pid, bool>> group_named_;  // every registered process, sorted: in the group?
  std::vector<std::pair<const std::type_info*, bool>> group_kinds_;
  bool ready_ = false;
  std::vector<pid> named_;  // registered processes whose name matches, sorted
  std::vector<std::pair<const std::type_info*, bool>> kinds_;  // behaviour types seen, matching?
};
/// The same, considering only processes that pass `filter`.
std::vector<process_row> top(const runtime& rt, sort_key key, std::size_t n, name_filter& filter);

/// Reductions over an interval (etop's per-refresh column, recon's proc_window): remembers each
/// process's reductions between calls. One per reader; not thread-safe. Memory: 8 bytes per process
/// slot ever used (8 MB at a million processes).
class reductions_window {
 public:
  /// The `n` processes that did the most reductions since the previous call, most first, ties by
  /// pid; `reductions_in_window` holds the amount. A process first seen counts all its reductions.
  /// Cost: one runtime::scan with a bounded heap, then a registry lookup per row kept.
  std::vector<process_row> top(const runtime& rt, std::size_t n);
  /// The same, ranking only processes that pass `filter` (all are remembered for the next window).
  std::vector<process_row> top(const runtime& rt, std::size_t n, name_filter& filter);

 private:
  struct seen {  // 8 bytes a slot: a window is far shorter than 2^32 reductions
    std::uint32_t serial_plus_one = 0;  // 0: never seen
    std::uint32_t reductions_low = 0;
  };
  std::vector<seen> last_;  // by slot index
};

/// One process in full, by pid. Calls `done` exactly once: with nullopt if `p` is not alive, with
/// the counters and the process's own report if it answers within `deadline`, else with the
/// counters and `responsive == false`. `done` runs on a scheduler thread or the caller's (it must
/// not block); the deadline is kept by a thread of `deadlines`' choosing: pass a function that
/// runs its argument after the delay (an Asio timer, say). Cost: O(1) for the counters, plus the
/// process's own time to list `options.max_messages` queued messages.
void process_info(runtime& rt, pid p, inspect_options options, std::chrono::milliseconds deadline,
                  const std::function<void(std::chrono::milliseconds, std::function<void()>)>& after,
                  std::function<void(std::optional<process_details>)> done);

/// The same, blocking the calling thread (not a scheduler) until the answer or the deadline.
std::optional<process_details> process_info(runtime& rt, pid p, inspect_options options,
                                            std::chrono::milliseconds deadline);

/// A pid written `<0.5.1>` or a registered name, resolved now; nullopt if it names nothing alive.
std::optional<pid> resolve(const runtime& rt, std::string_view pid_or_name);

}  // namespace agner::introspect
