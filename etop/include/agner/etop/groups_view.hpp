#pragma once
/// The grouped table (`G`, docs/etop.md "Groups"): one row per behaviour type and registered-name
/// prefix, as the node's `groups` request answers. Pure: no terminal, no sockets.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agner/etop/view.hpp"

namespace agner::etop {

using introspect::group_row;

struct group_col {
  group_column id;
  std::string_view title;
  int width;                     ///< 0: takes what is left (GROUP)
  int drop_order;                ///< on a narrow terminal the highest goes first; 0 never, nor the sort column
  std::string_view server_sort;  ///< the node's `groups` sort key
};
/// The grouped table's columns, left to right: GROUP PROCS MSGQ MAXQ MEMORY REDS GC. Narrow
/// terminals drop GC, REDS, MAXQ, MEMORY in that order.
const std::vector<group_col>& group_columns();
const group_col& group_column_of(group_column id);
/// "group", "processes", "msgq", "max_msgq", "memory", "reductions", "gc" (the node's sort names,
/// and etop --groups --sort); nullopt for anything else.
std::optional<group_column> group_column_named(std::string_view name);

/// Groups in display order: by the state's column, largest first (GROUP: A to Z) unless ascending;
/// ties by name, so rows do not jitter. Pure; O(g log g).
std::vector<group_row> arrange_groups(std::vector<group_row> rows, const groups_state& g);
/// After a refresh: keeps the selection on the group the operator selected, and records the
/// arranged names (Enter drills into one of them). Pure; O(rows).
void follow_group_selection(groups_state& g, const std::vector<group_row>& rows);

}  // namespace agner::etop
