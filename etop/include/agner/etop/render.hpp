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
};

struct frame {
  std::vector<std::string> lines;  ///< exactly `height` lines, each exactly `width` columns wide
  std::vector<int> reversed;       ///< lines to show in reverse video (titles, the selection)
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
  std::uint64_t wall_ms = 0;  ///< the wall clock now (ms since the epoch): an alarm raised today shows its time only
  const struct trace_pane* trace = nullptr;  ///< the trace pane, on screen::trace
};

/// The whole screen for `v` at `width` x `height`. On a short terminal the header gives up lines
/// (blank, sparklines, scheduler meters, memory, shedding, alarms; never the title, a notice or the
/// link's state) so that at least min(rows, max(3, (height - 2) / 2)) table rows show; on a narrow
/// one columns go (see columns()). The selection is always in view (frame::first). Pure.
frame render(const render_input& in, const view_state& v, int width, int height);

/// How many table rows fit under the header at this size (what etop asks the node for).
int table_rows(const render_input& in, int width, int height);

/// The header and table as text for batch mode: every fetched row, no selection.
std::string render_batch(const sample& s, const rates& r, const std::vector<process_row>& rows, int width);
/// One process as text (etop --inspect).
std::string render_details(const process_details& d);

}  // namespace agner::etop
