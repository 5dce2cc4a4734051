#pragma once
/// etop's model: what it fetched, what the operator is looking at, and what each key does. Pure:
/// no terminal, no sockets, so every rule here is unit-tested.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agner/etop/groups_state.hpp"
#include "agner/etop/tree_view.hpp"
#include "agner/snapshot/snapshot.hpp"
#include "agner/snapshot/warning_rows.hpp"

namespace agner::etop {

using introspect::process_details;
using introspect::process_row;

/// `node` is the NODE column of a view over several nodes (fleet.hpp), never in columns().
enum class column_id { pid, name, msgq, reductions, memory, gc, age, status, handler, node };

struct column {
  column_id id;
  std::string_view title;
  int width;            ///< fixed width; 0 shares what is left with the other flexible columns
  int drop_order;       ///< on a narrow terminal the highest goes first; 0 never, nor the sort column
  bool numeric;         ///< right-aligned, and sorted largest first
  std::string_view server_sort;  ///< the node's top key for it; empty: sorted among the fetched rows
  char key;             ///< the key that sorts by it
};
/// The table's columns, left to right. Narrow terminals drop GC, AGE, HANDLER, REDS, STATUS, MEMORY
/// in that order (docs/etop.md gives the widths); PID, NAME OR BEHAVIOUR and MSGQ always stay.
const std::vector<column>& columns();
const column& column_of(column_id id);

/// One refresh: the node's figures and its top rows.
struct sample {
  introspect::node_info node;
  std::vector<process_row> rows;
  double at_s = 0;  ///< when, in seconds on a steady clock
  /// False while the rows' reductions_in_window are not an interval yet: the first refresh, or the
  /// first with the node's reductions window (which counts since the process started). Shown as '-'.
  bool reductions_known = false;
  std::vector<introspect::warning_row> warnings;  ///< the node's warnings (docs/warnings.md); empty from an older node
};

/// Per-second rates between two samples, and each scheduler's utilisation (0..1).
struct rates {
  bool valid = false;
  double reductions = 0, messages = 0, gc = 0, dead_letters = 0;
  std::vector<double> utilisation;
};
rates rates_between(const sample& before, const sample& now);

/// A short history for the header's sparklines, newest last.
struct history {
  std::vector<double> run_queue, message_rate;
  std::size_t capacity = 240;
  void add(const sample& s, const rates& r);
};

/// Reductions over the refresh interval, from each row's lifetime reductions in the previous
/// sample (rows not seen before get none). Fills reductions_in_window where the node did not.
void interval_reductions(std::vector<process_row>& rows, const std::vector<process_row>& before);

enum class screen { table, inspect, help, alarms, groups, tree, trace };

/// An alarm or valve operation for the node (docs/protocol.md: ack_alarm, set_alarm, clear_alarm,
/// override_valve, reload_rules), built by the alarms screen and carried out by the link.
struct operation {
  std::string op{};  ///< the protocol's op
  std::string alarm{}, severity{}, description{};  ///< ack/set/clear
  std::string valve{}, mode{};                      ///< override_valve: open, closed or automatic
  std::uint64_t for_ms = 0;                   ///< override_valve: how long the override lasts
  bool operator==(const operation&) const = default;
};

/// What the operator is typing on the status line of the alarms screen.
enum class prompt_kind { none, set_alarm, valve_minutes };

struct view_state {
  column_id sort = column_id::msgq;
  bool ascending = false;
  std::string filter;
  bool editing_filter = false;
  std::size_t selected = 0;  ///< index into the arranged rows
  pid selected_pid;          ///< the process selected by the operator; follow_selection() keeps it selected
  std::size_t scroll = 0;    ///< first row shown
  bool paused = false;
  screen current = screen::table;
  std::vector<pid> inspecting;  ///< the inspected process last; Esc goes back one
  std::size_t link_selected = 0;
  std::size_t link_scroll = 0;  ///< first entry of the inspect view's go-to list shown
  bool confirm_kill = false;
  pid kill_target;
  std::size_t help_scroll = 0;  ///< first line of the help shown
  std::size_t alarm_selected = 0, alarm_scroll = 0;  ///< the alarms screen: alarms, then valves
  std::optional<operation> confirm;  ///< an operation waiting for 'y'
  prompt_kind prompt = prompt_kind::none;
  std::string prompt_text;           ///< what was typed so far
  operation prompt_op;               ///< the operation the prompt completes
  bool admin = true;     ///< false for a viewer session: admin keys explain instead
  bool replay = false;   ///< a recording plays (--replay): the footer shows only the keys that work there
  std::string notice;    ///< one line under the header, cleared by the next key
  groups_state groups;   ///< the grouped table (G), and the group the process table is drilled into
  tree_state tree;       ///< the supervision tree screen (t)
};

/// The NAME OR BEHAVIOUR column: the registered name, else the behaviour's short type name.
std::string display_name(const process_row& r);

/// Rows in display order: by the view's column (ties by pid, so rows do not jitter).
std::vector<process_row> arrange(std::vector<process_row> rows, const view_state& v);
/// Whether `a` shows above `b` in arrange()'s order. Pure; O(1).
bool row_before(const process_row& a, const process_row& b, const view_state& v);

/// After a refresh re-arranged the rows: moves `selected` to the row of the process the operator
/// selected (as htop does), if it is still among `rows`; else the index stays. Pure; O(rows).
void follow_selection(view_state& v, const std::vector<process_row>& rows);

/// The inspected process as last seen, and whether it has died since.
struct inspected {
  process_details last;
  bool dead = false;        ///< the node no longer has it; `last` is its last view
  std::string exit_reason;  ///< why it died, when the node says; empty: unknown
  pid successor;            ///< a process now registered under its name (a supervisor restarted it)
};

/// The processes an inspect screen links to (a dead process's successor first, then parent,
/// links, monitors, monitored by), in the order shown; Enter on one inspects it.
std::vector<pid> neighbours(const inspected& d);

/// Keeps a list's selection on an entry and in view: clamps `selected` below `count`, and moves
/// `first` (the first entry shown in a page of `page` entries) just enough that the selection is
/// shown and, when the page has grown (a taller terminal), that no rows above stay hidden while the
/// page has room for them. Pure; O(1).
void keep_in_view(std::size_t& selected, std::size_t& first, std::size_t count, int page);

namespace keys {  // what the terminal layer turns its key codes into
inline constexpr int up = 0x101, down = 0x102, left = 0x103, right = 0x104, page_up = 0x105,
                     page_down = 0x106, home = 0x107, end = 0x108, backspace = 0x109, resize = 0x10a,
                     input_lost = 0x10b, shift_left = 0x10c, shift_right = 0x10d,
                     enter = '\n', escape = 27;
}

/// What a key asks the viewer's loop to do.
struct outcome {
  enum kind { none, redraw, refresh, quit, kill, garbage_collect, suspend, resume, operate, trace, untrace };
  outcome(kind w = none, pid t = {}) : what(w), target(t) {}
  kind what;
  pid target;
  operation op;  ///< for operate
};

/// Applies `key` to `v`. `rows`: the arranged rows; `details`: the inspected process, if any;
/// `page`: entries per page of the list the arrows move in (frame::page).
/// `node`: the last system_info, for the alarms screen's alarms and valves.
outcome on_key(view_state& v, int key, const std::vector<process_row>& rows, const inspected* details, int page,
               const introspect::node_info* node = nullptr);

/// The alarms screen's keys (on_key calls it on that screen): Up/Down select among the active
/// alarms then the valves; a ack and c clear the selected alarm, n raises one (typed: ID SEVERITY
/// DESCRIPTION), o x u override the selected valve open, closed or back to automatic for a typed
/// number of minutes, r reloads the rules file; each asks for y (or Enter on a prompt) first and
/// needs the admin role; q or Esc goes back. Pure.
outcome on_alarms_key(view_state& v, int key, const introspect::node_info* node, int page);

/// The supervision tree screen's keys (on_key calls it there): Up/Down/PgUp/PgDn/Home/End select,
/// Left or - collapses the selected supervisor (on a child: selects its supervisor), Right or +
/// expands it, Enter inspects the selected process, Esc, t or q go back to the table. Pure.
outcome on_tree_key(view_state& v, int key, int page);

/// The help screen's table: keys, what they do, and whether they need the admin role.
struct key_help {
  std::string_view keys, what;
  bool admin;
};
const std::vector<key_help>& key_table();

/// The grouped table's keys (on_key calls it on that screen): Up/Down select a group, Enter drills
/// into it (the process table filtered to it), < > and I sort, Esc, G or q go back to the table.
/// Pure (groups_view.cpp).
outcome on_groups_key(view_state& v, int key, int page);
/// G on the process table opens the grouped table; when the table is drilled into a group, Esc or G
/// go back to the grouped table. Sets `out` and returns true when it took the key. Pure.
bool table_groups_key(view_state& v, int key, outcome& out);

}  // namespace agner::etop
