#pragma once
/// etop over several nodes at once (etop NODE NODE..., etop --all; docs/etop.md "Several nodes"):
/// the rows of every node merged in one order, a header summing what adds up. Pure: the links
/// live in fleet_main.cpp.
#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agner/etop/render.hpp"
#include "agner/etop/view.hpp"

namespace agner::etop {

/// One node as the fleet view last saw it.
struct member_view {
  std::string name;               ///< as the operator named it (the NODE column)
  const sample* now = nullptr;    ///< its last refresh; null before the first
  const sample* before = nullptr; ///< the refresh before, for its rates; may be null
  connection link;                ///< problem non-empty: disconnected (its rows leave the table)
};

/// The merged table: rows[i] belongs to members[node[i]].
struct merged_rows {
  std::vector<process_row> rows;
  std::vector<std::size_t> node;
  std::vector<std::string> node_names;  ///< per row, for render_input::row_nodes
};

/// Every attached node's rows in one order: by the view's column, ties by pid, then by the node's
/// place in `members` (so equal rows of two nodes do not swap between refreshes). A disconnected
/// node's rows are left out (its last view would pass for live). Pure; O(R log R) in all rows.
merged_rows merge_rows(const std::vector<member_view>& members, const view_state& v);

/// The header of the merged view: a sample whose figures are the attached nodes' sums (process
/// count and limit, run queue, memory, message, GC and port counters, every node's scheduler rows
/// one after the other, alarms and valves named "NODE/ID"), uptime the longest; the rates summed
/// node by node (each from its own two refreshes); and the line of what does not add up: each
/// node's uptime and schedulers, or DISCONNECTED with its reason. Pure; O(nodes + schedulers).
struct fleet_header {
  sample sum;
  rates rate;
  std::string nodes_line;
};
fleet_header sum_nodes(const std::vector<member_view>& members, double now_s);

/// One refresh of several nodes as JSON (etop --batch --json NODE NODE..., and each line of
/// etop --record over several nodes): {"nodes": [{"name", "attached", "problem", "node"}],
/// "processes": [{"node": NAME, ...}] for the first `count` merged rows, "rates": summed (left out
/// when not valid)}. Pure; O(nodes + count).
nlohmann::json fleet_json(const std::vector<member_view>& members, const merged_rows& merged, std::size_t count,
                          const fleet_header& h);

/// Which node the view shows: all merged (focus == count), or one node's own view. Tab moves to the
/// next node, and from the last back to all. Pure.
std::size_t next_focus(std::size_t focus, std::size_t count);

}  // namespace agner::etop
