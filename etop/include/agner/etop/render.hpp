#pragma once
/// etop's frames as plain text: the terminal layer only copies them to the screen, batch mode
/// prints them, tests read them.
#include <cstdint>
#include <string>
#include <vector>

#include "agner/etop/view.hpp"

namespace agner::etop {

/// The state of the link to the node, for the header.
struct connection {
  std::string target;    ///< what the operator asked for ("demo", "127.0.0.1:9471")
  std::string role;      ///< "admin", "viewer"; empty while not connected
  std::string problem;   ///< why the link is down, empty when up
  double retry_in_s = 0;
  /// While down: how long the attempt to attach again has gone unanswered, in seconds (a node
  /// that stopped keeps its socket open, so an attempt waits the whole reply deadline); < 0: none
  /// under way (the next comes in retry_in_s).
  double reattaching_s = -1;
};

/// The link's retry as the header says it: "retrying in 4s", or "reattaching, no answer for 7s"
/// while an attempt is under way. Pure.
std::string retry_text(const connection& c);

struct frame {
  std::vector<std::string> lines;  ///< exactly `height` lines, each exactly `width` columns wide
  std::vector<int> reversed;       ///< lines to show in reverse video (titles, the selection)
  std::vector<int> bold;           ///< lines to show in bold (a supervisor near its restart limit)
  std::size_t first = 0;           ///< the first entry shown of the list the arrows move in (table rows, go-to list)
  int page = 1;                    ///< how many entries of that list fit on this screen
};

struct render_input {
  const sample* now = nullptr;  ///< null until the first refresh
  rates rate;
  const history* past = nullptr;
  const std::vector<process_row>* rows = nullptr;  ///< arranged
  const inspected* details = nullptr;              ///< the inspected process, when inspecting
  connection link;
  bool unicode = true;
  bool tree_fetched = false;  ///< the supervision tree screen has the node's answer (v.tree.lines)
  std::uint64_t wall_ms = 0;  ///< the wall clock now (ms since the epoch): an alarm raised today shows its time only
  const groups_sample* groups = nullptr;           ///< the grouped table's rows (node order), on that screen
  std::string mode_line;      ///< lines ('\n' between) under the title, never dropped (replay's position, the nodes); empty: none
  const std::vector<std::string>* row_nodes = nullptr;  ///< several nodes: each row's node, for a NODE column
  /// Several nodes: the node of each of now->warnings (same order); a row is then marked '!' only
  /// when its row_nodes entry is the warning's node, and the WARNINGS lines name the node.
  const std::vector<std::string>* warning_nodes = nullptr;
  const struct trace_pane* trace = nullptr;  ///< the trace pane, on screen::trace
};

/// The whole screen for `v` at `width` x `height`. On a short terminal the header gives up lines
/// (blank, sparklines, scheduler meters, memory, shedding, alarms; never the title, a notice or the
/// link's state) so that at least min(rows, max(3, (height - 2) / 2)) table rows show; on a narrow
/// one columns go (see columns()). The selection is always in view (frame::first). Pure.
frame render(const render_input& in, const view_state& v, int width, int height);

/// The header lines (as the table shows them) in at most `budget` lines: for other screens' files.
std::vector<std::string> header_lines(const render_input& in, const view_state& v, int width, int budget);
/// The grouped table (groups_view.cpp): header, one row per group, selection in view. Pure.
frame groups_screen(const render_input& in, const view_state& v, int width, int height);
/// The grouped table as text for batch mode (etop --batch --groups): header, titles, every row.
std::string render_groups_batch(const sample& s, const rates& r, const groups_sample& g, const view_state& v, int width);

/// How many table rows fit under the header at this size (what etop asks the node for).
int table_rows(const render_input& in, int width, int height);

/// The header and table as text for batch mode: every fetched row, no selection.
std::string render_batch(const sample& s, const rates& r, const std::vector<process_row>& rows, int width);
/// The same from a render_input: its mode_line under the title, and with row_nodes (several
/// nodes) a NODE column first. Pure; O(rows).
std::string render_batch(const render_input& in, const std::vector<process_row>& rows, int width);
/// The supervision tree screen under `header` (tree_view.cpp): v.tree's lines, the selection in view,
/// lines near the restart limit bold. `fetched`: the node has answered once. Pure.
frame tree_screen(std::vector<std::string> header, const view_state& v, bool fetched, int width, int height);
/// One process as text (etop --inspect).
std::string render_details(const process_details& d);

}  // namespace agner::etop
