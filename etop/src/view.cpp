#include "agner/etop/view.hpp"

#include <algorithm>
#include <unordered_map>

#include <fmt/format.h>

#include "agner/etop/format.hpp"
#include "agner/etop/trace_view.hpp"

namespace agner::etop {

const std::vector<column>& columns() {
  static const std::vector<column> table{
      {column_id::pid, "PID", 13, 0, false, "", 'P'},
      {column_id::name, "NAME OR BEHAVIOUR", 0, 0, false, "", 'N'},
      {column_id::msgq, "MSGQ", 6, 0, true, "msgq", 'Q'},
      {column_id::reductions, "REDS", 6, 3, true, "reductions_window", 'R'},
      {column_id::memory, "MEMORY", 7, 1, true, "memory", 'M'},
      {column_id::gc, "GC", 5, 6, true, "gc", 'C'},
      {column_id::age, "AGE", 6, 5, true, "age", 'A'},
      {column_id::status, "STATUS", 9, 2, false, "", 'S'},
      {column_id::handler, "HANDLER", 0, 4, false, "", 'H'},
  };
  return table;
}

std::string display_name(const process_row& r) {
  return r.registered_name.empty() ? short_type(r.behaviour) : r.registered_name;
}

const column& column_of(column_id id) {
  for (auto& c : columns())
    if (c.id == id) return c;
  return columns().front();
}

rates rates_between(const sample& before, const sample& now) {
  rates r;
  const double dt = now.at_s - before.at_s;
  if (dt <= 0) return r;
  auto per_s = [dt](std::uint64_t a, std::uint64_t b) { return b >= a ? static_cast<double>(b - a) / dt : 0.0; };
  std::uint64_t reds_before = 0, reds_now = 0;
  for (auto& s : before.node.schedulers) reds_before += s.reductions;
  for (auto& s : now.node.schedulers) reds_now += s.reductions;
  r.reductions = per_s(reds_before, reds_now);
  r.messages = per_s(before.node.messages.delivered, now.node.messages.delivered);
  r.gc = per_s(before.node.gc.minor_runs + before.node.gc.major_runs, now.node.gc.minor_runs + now.node.gc.major_runs);
  r.dead_letters = per_s(before.node.messages.dead_letters, now.node.messages.dead_letters);
  for (std::size_t i = 0; i < now.node.schedulers.size(); ++i) {
    double u = 0;
    if (i < before.node.schedulers.size()) {
      const auto& a = before.node.schedulers[i];
      const auto& b = now.node.schedulers[i];
      if (b.wall_ns > a.wall_ns && b.busy_ns >= a.busy_ns)
        u = static_cast<double>(b.busy_ns - a.busy_ns) / static_cast<double>(b.wall_ns - a.wall_ns);
    }
    r.utilisation.push_back(std::clamp(u, 0.0, 1.0));
  }
  r.valid = true;
  return r;
}

void history::add(const sample& s, const rates& r) {
  run_queue.push_back(static_cast<double>(s.node.run_queue_total));
  message_rate.push_back(r.valid ? r.messages : 0);
  if (run_queue.size() > capacity) run_queue.erase(run_queue.begin());
  if (message_rate.size() > capacity) message_rate.erase(message_rate.begin());
}

void interval_reductions(std::vector<process_row>& rows, const std::vector<process_row>& before) {
  std::unordered_map<std::uint64_t, std::uint64_t> seen;
  for (auto& r : before) seen[(std::uint64_t{r.id.index} << 32) | r.id.serial] = r.reductions;
  for (auto& r : rows) {
    if (r.reductions_in_window) continue;  // the node ranked by it and filled it in
    auto it = seen.find((std::uint64_t{r.id.index} << 32) | r.id.serial);
    if (it != seen.end() && r.reductions >= it->second) r.reductions_in_window = r.reductions - it->second;
  }
}

namespace {

/// Compares two rows by `id` only; equal rows fall through to pid.
int compare(const process_row& a, const process_row& b, column_id id) {
  auto cmp = [](const auto& x, const auto& y) { return x < y ? -1 : (y < x ? 1 : 0); };
  switch (id) {
    case column_id::pid: return cmp(a.id, b.id);
    case column_id::name: return cmp(display_name(a), display_name(b));
    case column_id::msgq: return cmp(a.message_queue_len, b.message_queue_len);
    case column_id::reductions: return cmp(a.reductions_in_window, b.reductions_in_window);
    case column_id::memory: return cmp(a.memory_bytes, b.memory_bytes);
    case column_id::gc: return cmp(a.gc_runs, b.gc_runs);
    case column_id::age: return cmp(a.oldest_message_age_ms, b.oldest_message_age_ms);
    case column_id::status: return cmp(to_string(a.status), to_string(b.status));
    case column_id::handler: return cmp(a.current_handler, b.current_handler);
    case column_id::node: return 0;  // rows do not know their node: fleet.cpp orders by it
  }
  return 0;
}

}  // namespace

bool row_before(const process_row& a, const process_row& b, const view_state& v) {
  const bool largest_first = column_of(v.sort).numeric != v.ascending;
  const int c = compare(a, b, v.sort);
  if (c != 0) return largest_first ? c > 0 : c < 0;
  return a.id < b.id;  // ties by pid: rows do not jitter between refreshes
}

std::vector<process_row> arrange(std::vector<process_row> rows, const view_state& v) {
  std::stable_sort(rows.begin(), rows.end(), [&](const process_row& a, const process_row& b) { return row_before(a, b, v); });
  return rows;
}

std::vector<pid> neighbours(const inspected& d) {
  std::vector<pid> out;
  auto add = [&](pid p) {
    if (p && std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
  };
  add(d.successor);
  const auto& r = d.last.report;
  add(r.parent);
  for (pid p : r.links) add(p);
  for (pid p : r.monitors) add(p);
  for (pid p : r.monitored_by) add(p);
  return out;
}

void follow_selection(view_state& v, const std::vector<process_row>& rows) {
  if (!v.selected_pid) return;
  for (std::size_t i = 0; i < rows.size(); ++i)
    if (rows[i].id == v.selected_pid) {
      v.selected = i;
      return;
    }
}

void keep_in_view(std::size_t& selected, std::size_t& first, std::size_t count, int page) {
  const auto p = static_cast<std::size_t>(std::max(1, page));
  if (count == 0) {
    selected = first = 0;
    return;
  }
  selected = std::min(selected, count - 1);
  first = std::min(first, count > p ? count - p : 0);  // a taller page shows the rows above again
  if (selected < first) first = selected;
  if (selected >= first + p) first = selected + 1 - p;
}

const std::vector<key_help>& key_table() {
  static const std::vector<key_help> table{
      {"Up/Down PgUp/PgDn Home/End", "select a process (in inspect: a linked process)", false},
      {"Enter", "inspect the selected process (in inspect: the selected linked one)", false},
      {"Esc Backspace", "back to the previous process, then to the table", false},
      {"< >", "sort by the column to the left / right", false},
      {"P N Q R M C A S H", "sort by pid, name, msgq, reductions, memory, gc, age, status, handler", false},
      {"I", "invert the sort order", false},
      {"/", "filter by registered name or behaviour (Enter keeps it, Esc clears it)", false},
      {"space", "pause / resume refreshing", false},
      {"k", "kill the selected process (asks to confirm)", true},
      {"g", "garbage-collect the selected process", true},
      {"s", "suspend / resume the selected process", true},
      {"a", "alarms and valves (there: a ack, c clear, n raise, o x u override a valve, r reload rules)", false},
      {"a c n o x u r", "on the alarms screen: operate alarms and valves (asks to confirm)", true},
      {"G", "processes grouped by behaviour and name prefix (there: Enter its processes, Esc or G back)", false},
      {"Tab", "several nodes: one node's view, the next, then all", false},
      {"Left/Right [ ] Home/End . + -", "in etop --replay: step, seek ten, first/last, next, speed", false},
      {"t", "supervision tree (there: Left/Right or -/+ collapse/expand, Enter inspects, Esc or t back)", false},
      {"T", "trace the selected process's messages (a pane; stops after 100 messages or 60 s, Esc stops it)", true},
      {"h ?", "this help", false},
      {"q", "quit (in inspect or help: back)", false},
  };
  return table;
}

namespace {

void move(std::size_t& index, int key, std::size_t count, int page) {
  const auto p = static_cast<std::size_t>(std::max(1, page));
  if (count == 0) return;
  switch (key) {
    case keys::up: index = index > 0 ? index - 1 : 0; break;
    case keys::down: index = std::min(index + 1, count - 1); break;
    case keys::page_up: index = index > p ? index - p : 0; break;
    case keys::page_down: index = std::min(index + p, count - 1); break;
    case keys::home: index = 0; break;
    case keys::end: index = count - 1; break;
    default: break;
  }
}

bool is_motion(int key) {
  return key == keys::up || key == keys::down || key == keys::page_up || key == keys::page_down ||
         key == keys::home || key == keys::end;
}

/// k, g, s on `target`; a viewer gets an explanation instead.
outcome admin_key(view_state& v, int key, pid target, process_status status) {
  if (!target) return {};
  if (!v.admin) {
    v.notice = fmt::format("'{}' needs the admin role; this session is a viewer (attach as admin to act)",
                           static_cast<char>(key));
    return {outcome::redraw};
  }
  if (key == 'k') {
    v.confirm_kill = true;
    v.kill_target = target;
    v.notice = fmt::format("kill {}? press y to kill, any other key to cancel", target);
    return {outcome::redraw};
  }
  if (key == 'g') return {outcome::garbage_collect, target};
  return {status == process_status::suspended ? outcome::resume : outcome::suspend, target};
}

}  // namespace

outcome on_key(view_state& v, int key, const std::vector<process_row>& rows, const inspected* details, int page,
               const introspect::node_info* node) {
  if (key == keys::resize) return {outcome::redraw};
  v.notice.clear();
  if (v.confirm_kill) {
    v.confirm_kill = false;
    if (key == 'y' || key == 'Y') return {outcome::kill, v.kill_target};
    v.notice = "kill cancelled";
    return {outcome::redraw};
  }
  if (v.confirm) {
    outcome out{outcome::operate};
    out.op = std::move(*v.confirm);
    v.confirm.reset();
    if (key == 'y' || key == 'Y') return out;
    v.notice = out.op.op + " cancelled; nothing was sent";
    return {outcome::redraw};
  }
  if (v.prompt != prompt_kind::none) return on_alarms_key(v, key, node, page);
  if (v.editing_filter) {
    if (key == keys::enter) {
      v.editing_filter = false;
    } else if (key == keys::escape) {
      v.editing_filter = false;
      v.filter.clear();
    } else if (key == keys::backspace) {
      if (!v.filter.empty()) v.filter.pop_back();
    } else if (key >= 32 && key < 127 && v.filter.size() < 64) {
      v.filter.push_back(static_cast<char>(key));
    } else {
      return {};
    }
    v.selected = v.scroll = 0;
    v.selected_pid = {};
    return {outcome::refresh};
  }
  if (key == ' ') {
    v.paused = !v.paused;
    return {v.paused ? outcome::redraw : outcome::refresh};
  }
  if (v.current == screen::help && is_motion(key)) {
    const std::size_t lines = key_table().size() + 3;  // the body help_screen shows
    v.help_scroll = std::min(v.help_scroll, lines);
    move(v.help_scroll, key, lines, page);
    return {outcome::redraw};
  }
  if (v.current == screen::help) {
    v.help_scroll = 0;
    v.current = v.groups.help_from_groups ? screen::groups : !v.inspecting.empty() ? screen::inspect : v.tree.open ? screen::tree : screen::table;
    return {outcome::refresh};
  }
  if (key == 'h' || key == '?') {
    v.groups.help_from_groups = v.current == screen::groups;
    v.current = screen::help;
    return {outcome::redraw};
  }
  if (v.current == screen::alarms) return on_alarms_key(v, key, node, page);
  if (v.current == screen::groups) return on_groups_key(v, key, page);
  if (v.current == screen::tree) return on_tree_key(v, key, page);
  if (v.current == screen::trace) return on_trace_key(v, key);
  if (v.current == screen::inspect) {
    const std::vector<pid> near = details ? neighbours(*details) : std::vector<pid>{};
    if (is_motion(key)) {
      move(v.link_selected, key, near.size(), page);
      keep_in_view(v.link_selected, v.link_scroll, near.size(), page);
      return {outcome::redraw};
    }
    if (key == keys::enter && v.link_selected < near.size()) {
      // A dead process's successor takes its place: Esc then goes back past both.
      if (details->dead && near[v.link_selected] == details->successor) v.inspecting.pop_back();
      v.inspecting.push_back(near[v.link_selected]);
      v.link_selected = v.link_scroll = 0;
      return {outcome::refresh};
    }
    if (key == keys::escape || key == keys::backspace || key == 'q') {
      v.inspecting.pop_back();
      v.link_selected = v.link_scroll = 0;
      if (v.inspecting.empty()) v.current = v.tree.open ? screen::tree : screen::table;
      return {outcome::refresh};
    }
    if (key == 'k' || key == 'g' || key == 's')
      return admin_key(v, key, v.inspecting.back(), details ? details->last.row.status : process_status::waiting);
    if (key == 'T') return trace_key(v, v.inspecting.back());
    return {};
  }
  // The table.
  if (outcome out; table_groups_key(v, key, out)) return out;
  if (key == 'q') return {outcome::quit};
  if (is_motion(key)) {
    move(v.selected, key, rows.size(), page);
    keep_in_view(v.selected, v.scroll, rows.size(), page);
    if (v.selected < rows.size()) v.selected_pid = rows[v.selected].id;
    return {outcome::redraw};
  }
  if (key == keys::enter) {
    if (v.selected >= rows.size()) return {};
    v.inspecting = {rows[v.selected].id};
    v.link_selected = v.link_scroll = 0;
    v.current = screen::inspect;
    return {outcome::refresh};
  }
  if (key == '/') {
    v.editing_filter = true;
    return {outcome::redraw};
  }
  if (key == 'a') {
    v.current = screen::alarms;
    return {outcome::refresh};
  }
  if (key == 't') {
    v.tree.open = true;
    v.current = screen::tree;
    return {outcome::refresh};
  }
  if (key == 'I') {
    v.ascending = !v.ascending;
    return {outcome::refresh};
  }
  const auto& cols = columns();
  if (key == '<' || key == '>' || key == keys::left || key == keys::right) {
    auto it = std::find_if(cols.begin(), cols.end(), [&](const column& c) { return c.id == v.sort; });
    const auto i = static_cast<std::size_t>(it - cols.begin());
    const bool left = key == '<' || key == keys::left;
    v.sort = cols[left ? (i + cols.size() - 1) % cols.size() : (i + 1) % cols.size()].id;
    v.ascending = false;
    return {outcome::refresh};
  }
  for (auto& c : cols)
    if (key == c.key) {
      v.sort = c.id;
      v.ascending = false;
      return {outcome::refresh};
    }
  if (key == 'k' || key == 'g' || key == 's') {
    if (v.selected >= rows.size()) return {};
    return admin_key(v, key, rows[v.selected].id, rows[v.selected].status);
  }
  if (key == 'T') return v.selected < rows.size() ? trace_key(v, rows[v.selected].id) : outcome{};
  return {};
}

}  // namespace agner::etop
