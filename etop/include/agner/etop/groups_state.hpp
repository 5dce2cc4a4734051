#pragma once
/// What the operator is looking at on the grouped table (`G`, docs/etop.md "Groups"): a part of
/// view_state, apart so the process table's code stays as it was.
#include <cstddef>
#include <string>
#include <vector>

#include "agner/snapshot/groups.hpp"

namespace agner::etop {

/// The grouped table's columns, left to right.
enum class group_column { group, processes, msgq, max_msgq, memory, reductions, gc };

/// One refresh of the grouped table: the node's `groups` answer.
struct groups_sample {
  introspect::groups_result result;
  /// False on the first answer of a session's groups window (its reductions count since each
  /// process started): REDS shows '-'.
  bool reductions_known = false;
};

struct groups_state {
  group_column sort = group_column::msgq;
  bool ascending = false;
  std::size_t selected = 0;         ///< index into the arranged groups
  std::string selected_group;       ///< the group selected by the operator; kept selected across refreshes
  std::size_t scroll = 0;           ///< first group shown
  std::vector<std::string> shown;   ///< the arranged groups' names, as last shown (Enter drills into one)
  std::string drilled;              ///< the group the process table is filtered to; empty: none
  bool help_from_groups = false;    ///< the help screen was opened from the grouped table: return there
};

}  // namespace agner::etop
