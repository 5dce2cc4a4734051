#pragma once
/// Processes grouped by what they are (docs/protocol.md, `groups`): one row per behaviour type and
/// per registered-name prefix, with sums over the group, computed in one pass over the process table.
/// The rows and their codec are agner/snapshot/groups.hpp.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include <nlohmann/json.hpp>

#include "agner/runtime/runtime.hpp"
#include "agner/snapshot/groups.hpp"

namespace agner::introspect {

/// The group of a registered name: the part before the first ':' and a '*' when there is such a
/// part ("match:elp-2011" -> "match:*"); else, when the name ends in '_' and digits with something
/// before the '_', the name up to that '_' and a '*' ("user_sup_3" -> "user_sup_*"); else the name
/// itself ("ledger", "worker3", "_7"). Pure; O(length).
std::string name_group(std::string_view registered_name);

/// The group of a process: name_group() of its registered name when it has one, else short_type()
/// of its behaviour's demangled type ("?" when unknown): what etop's NAME OR BEHAVIOUR column shows,
/// with numbered names folded into their prefix. Pure but for demangling.
std::string group_of(std::string_view registered_name, const std::type_info* behaviour);

/// The sort keys of `groups`: "group" (name, A to Z), "processes", "msgq" (queued, summed),
/// "max_msgq", "memory", "reductions" (over the window), "gc". Largest first, ties by name.
enum class group_sort { group, processes, msgq, max_msgq, memory, reductions, gc };
std::optional<group_sort> parse_group_sort(std::string_view name);
/// The names parse_group_sort accepts, for an error sentence: "group, processes, msgq, ...".
std::string_view group_sort_names();

/// Distinct groups kept apart in one query; processes of further groups are counted in one row
/// named "(other)" (so a node whose every process has a name of its own costs bounded memory).
inline constexpr std::size_t max_groups = 4096;

/// Groups with their reductions over a window (etop's per-refresh REDS, as reductions_window does
/// for the process table): remembers each process's reductions between calls. One per reader; not
/// thread-safe. Memory: 8 bytes per process slot ever used (8 MB at a million processes), plus the
/// groups while a call runs.
class group_window {
 public:
  /// The first `n` groups by `sort` (1 <= n), and totals. A group's reductions_in_window sums, over
  /// its processes, the reductions done since the previous call (a process first seen counts all
  /// its reductions; what processes that ended in between did is not counted). Cost: one
  /// runtime::scan (every slot ever used, two cache lines each) with a pointer compare of the
  /// behaviour type and a compare against the next registered slot per process, and a read of the
  /// 8-byte window slot of each process that has run; one runtime::visit_registered (no copy, no
  /// allocation per name) and a sort of the registered pids (skipped when already in order); one
  /// demangle per behaviour type, then a partial sort of the groups. No more than top() at 1M
  /// processes (docs/etop.md, "Cost"). Never stops a scheduler.
  groups_result groups(const runtime& rt, group_sort sort, std::size_t n,
                       std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

 private:
  struct seen {  // 8 bytes a slot: a window is far shorter than 2^32 reductions
    std::uint32_t serial_plus_one = 0;  // 0: never seen
    std::uint32_t reductions_low = 0;
  };
  std::vector<seen> last_;  // by slot index
  std::size_t named_seen_ = 0;  // registered names at the last call: the next call's reserve
  std::optional<std::chrono::steady_clock::time_point> previous_;
};

}  // namespace agner::introspect
