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
  /// Not answering: its refresh has been outstanding this long, in seconds, having waited
  /// answer_wait_s or more (a stopped node, or a hung host, that keeps its socket open). 0: it answers.
  double silent_s = 0;
  /// A silent node's last rows stay in the table, marked, while silent_s is below this (seconds).
  double rows_kept_s = 10;
};

/// How long a refresh waits for the nodes before it goes on without the ones that have not
/// answered (they are then "not answering"): the refresh interval, at least 1 s. Pure.
double answer_wait_s(double interval_s);
/// How long a node that does not answer keeps its last rows in the table (marked stale):
/// 5 refresh intervals, at least 10 s; then they leave it (its nodes: entry stays). Pure.
double stale_rows_s(double interval_s);

/// What the view says of a silent node (m.silent_s > 0) at `now_s`: "NAME NOT ANSWERING for 4s
/// (its ~rows are 5s old, shown until 10s)", or "(its rows left the table at 10s)", or "(no rows
/// yet)". The nodes line's part for it, and the single-node view's line. Pure.
std::string not_answering_line(const member_view& m, double now_s);

/// The names the nodes go by in the NODE column, the nodes: line and "NODE/ID" alarm names, one per
/// node as the operator wrote it (`demo`, `/tmp/a/node.sock`, `10.0.0.5:9471`): a socket path's
/// file name without ".sock", or, when two nodes would share it, the shortest path suffix that
/// tells each apart (`/tmp/a/node.sock` and `/tmp/b/node.sock` go by `a/node` and `b/node`); two
/// that no suffix tells apart get `#2`, `#3`, ... after the later ones. Unique; pure; O(n² · path
/// components).
std::vector<std::string> node_labels(const std::vector<std::string>& written);

/// The merged table: rows[i] belongs to members[node[i]].
struct merged_rows {
  std::vector<process_row> rows;
  std::vector<std::size_t> node;
  std::vector<std::string> node_names;  ///< per row, for render_input::row_nodes
};

/// Every attached node's rows in one order: by the view's column, ties by pid, then by the node's
/// place in `members` (so equal rows of two nodes do not swap between refreshes). A disconnected
/// node's rows are left out (its last view would pass for live); a silent node's stay while
/// silent_s < rows_kept_s, their node name marked "~NAME" (stale). Pure; O(R log R) in all rows.
merged_rows merge_rows(const std::vector<member_view>& members, const view_state& v);

/// The header of the merged view: a sample whose figures are the answering nodes' sums (process
/// count and limit, run queue, memory, message, GC and port counters, every node's scheduler rows
/// one after the other, alarms and valves named "NODE/ID"), uptime the longest; the rates summed
/// node by node (each from its own two refreshes); and the line of what does not add up: each
/// node's uptime and schedulers, DISCONNECTED with its reason, or "NOT ANSWERING for Ns" and what
/// became of its rows. The answering nodes' warnings one node after the other in sum.warnings,
/// each one's node in warning_nodes (for render_input::warning_nodes). A silent node is left out
/// of the sums and the warnings (its figures are old). Pure; O(nodes + schedulers + warnings).
struct fleet_header {
  sample sum;
  rates rate;
  std::string nodes_line;
  std::vector<std::string> warning_nodes;  ///< the node of each of sum.warnings
};
fleet_header sum_nodes(const std::vector<member_view>& members, double now_s);

/// One refresh of several nodes as JSON (etop --batch --json NODE NODE..., and each line of
/// etop --record over several nodes): {"nodes": [{"name", "attached", "problem", "node"}],
/// "processes": [{"node": NAME, ...}] for the first `count` merged rows, "warnings": [{"node":
/// NAME, ...}] the answering nodes' (h.sum.warnings), "rates": summed (left out when not valid)}. A silent node's entry has attached false, problem "not answering for N s" and
/// "not_answering_s"; its rows "stale": true. Pure; O(nodes + count).
nlohmann::json fleet_json(const std::vector<member_view>& members, const merged_rows& merged, std::size_t count,
                          const fleet_header& h);

/// Which node the view shows: all merged (focus == count), or one node's own view. Tab moves to the
/// next node, and from the last back to all. Pure.
std::size_t next_focus(std::size_t focus, std::size_t count);

}  // namespace agner::etop
