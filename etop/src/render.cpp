#include "agner/etop/render.hpp"

#include <algorithm>
#include <functional>

#include <fmt/format.h>

#include "agner/etop/format.hpp"
#include "agner/etop/trace_view.hpp"
#include "agner/etop/text.hpp"
#include "agner/etop/warnings_view.hpp"

namespace agner::etop {
namespace {

std::string cell(const process_row& r, column_id id, const render_input& in) {
  switch (id) {
    case column_id::pid: return fmt::format("{}{}", in.now && warned(in.now->warnings, r.id) ? "!" : "", r.id);
    case column_id::name: return display_name(r);
    case column_id::msgq: return count(r.message_queue_len);
    case column_id::reductions: return in.now && in.now->reductions_known ? count(r.reductions_in_window) : "-";
    case column_id::memory: return bytes(r.memory_bytes);
    case column_id::gc: return count(r.gc_runs);
    case column_id::age: return r.oldest_message_age_ms ? millis(r.oldest_message_age_ms) : "-";
    case column_id::status: return std::string(to_string(r.status));
    case column_id::handler: return r.current_handler.empty() ? "" : short_type(r.current_handler);
    case column_id::node: return {};  // table_screen fills it from render_input::row_nodes
  }
  return {};
}

struct placed {
  const column* col;
  int width;
};

/// Which columns fit in `width`, and how wide each is: fixed ones as declared, the flexible ones
/// sharing the rest (names 60%, handlers 40%); narrow terminals drop columns by drop_order, except
/// the column the table is sorted by.
std::vector<placed> layout(int width, column_id sort) {
  constexpr int min_flexible = 8;
  std::vector<const column*> shown;
  for (auto& c : columns()) shown.push_back(&c);
  auto need = [&] {
    int w = static_cast<int>(shown.size()) - 1;
    for (auto* c : shown) w += c->width ? c->width : min_flexible;
    return w;
  };
  auto rank = [sort](const column* c) { return c->id == sort ? 0 : c->drop_order; };
  while (need() > width) {
    auto it = std::max_element(shown.begin(), shown.end(), [&](auto* a, auto* b) { return rank(a) < rank(b); });
    if (rank(*it) == 0) break;
    shown.erase(it);
  }
  int fixed = static_cast<int>(shown.size()) - 1, flexible = 0;
  for (auto* c : shown) c->width ? fixed += c->width : ++flexible;
  const int spare = std::max(0, width - fixed);
  std::vector<placed> out;
  int given = 0, flex_seen = 0;
  for (auto* c : shown) {
    int w = c->width;
    if (!w) {
      ++flex_seen;
      w = flex_seen == flexible ? spare - given : (flexible == 1 ? spare : spare * 6 / 10);
      w = std::max(w, 1);
      given += w;
    }
    out.push_back({c, w});
  }
  return out;
}

std::string row_line(const std::vector<placed>& cols, const std::function<std::string(const column&)>& text, int width) {
  std::string line;
  for (std::size_t i = 0; i < cols.size(); ++i) {
    if (i) line += ' ';
    line += fit(text(*cols[i].col), cols[i].width, cols[i].col->numeric);
  }
  return fit(line, width);
}

std::string titles(const std::vector<placed>& cols, const view_state* v, int width, bool unicode) {
  return row_line(cols, [&](const column& c) {
    std::string t(c.title);
    const bool up = v && v->ascending == c.numeric;
    if (v && c.id == v->sort) t += unicode ? (up ? "▲" : "▼") : (up ? "^" : "v");
    return t;
  }, width);
}

/// A header line and how readily it goes when the terminal is short: the highest `drop` first, 0 never.
struct header_line {
  std::string text;
  int drop;
};

}  // namespace

std::string retry_text(const connection& c) {
  return c.reattaching_s >= 0 ? fmt::format("reattaching, no answer for {:.0f}s", c.reattaching_s)
                              : fmt::format("retrying in {:.0f}s", c.retry_in_s);
}

namespace {

std::vector<header_line> full_header(const render_input& in, const view_state& v, int width) {
  std::vector<header_line> h;
  const auto& link = in.link;
  auto per_s = [&in](double x) { return in.rate.valid ? rate(x) : std::string("-"); };
  std::string state = link.role.empty() ? "" : fmt::format("  [{}]", link.role);
  if (v.paused) state += "  PAUSED (space resumes)";
  if (!in.now) {
    h.push_back({fit(fmt::format("etop: {}  connecting…{}", link.target, link.problem.empty() ? "" : "  " + link.problem), width), 0});
    if (!v.notice.empty()) h.push_back({fit(v.notice, width), 1});
    return h;
  }
  const auto& n = in.now->node;
  h.push_back({fit(fmt::format("etop: {}{}  up {}  procs {}/{}  runq {}{}", n.name,
                               link.target.empty() || link.target == n.name ? "" : " (" + link.target + ")",
                               uptime(n.uptime_ns / 1'000'000'000), n.process_count, count(n.process_limit),
                               n.run_queue_total, state),
                   width), 0});
  for (std::size_t from = 0; from < in.mode_line.size();) {
    const auto to = std::min(in.mode_line.find('\n', from), in.mode_line.size());
    h.push_back({fit(in.mode_line.substr(from, to - from), width), 0});
    from = to + 1;
  }
  if (!link.problem.empty())
    h.push_back({fit(fmt::format("DISCONNECTED: {}; {} (showing the last refresh)", link.problem, retry_text(link)),
                     width), 1});
  const auto& r = in.rate;
  h.push_back({fit(fmt::format("mem: procs {} heaps {} binary {} rss {}   reds/s {}  msgs/s {}  gc/s {}  dead/s {}",
                               bytes(n.memory.processes_bytes), bytes(n.memory.heaps_bytes), bytes(n.memory.binary_bytes),
                               bytes(n.memory.resident_bytes), per_s(r.reductions), per_s(r.messages), per_s(r.gc),
                               per_s(r.dead_letters)),
                   width), 4});
  // Scheduler meters: "S1 [|||||     53%] q2", as many to a line as fit.
  const int cell_w = 26, per_line = std::max(1, width / cell_w);
  std::string line;
  for (std::size_t i = 0; i < n.schedulers.size(); ++i) {
    const bool known = r.valid && i < r.utilisation.size();
    const double u = known ? r.utilisation[i] : 0;
    line += fit(fmt::format("S{:<2}[{}{:>4}] q{}", i + 1, bar(u, 12), known ? fmt::format("{:.0f}%", u * 100) : "-",
                            n.schedulers[i].run_queue_length),
                cell_w);
    if (static_cast<int>(i % per_line) == per_line - 1 || i + 1 == n.schedulers.size()) {
      h.push_back({fit(line, width), 5});
      line.clear();
    }
  }
  if (in.past) {
    const int spark_w = std::max(4, (width - 24) / 2);
    h.push_back({fit(fmt::format("runq {} msgs/s {}", sparkline(in.past->run_queue, spark_w, in.unicode),
                                 sparkline(in.past->message_rate, spark_w, in.unicode)),
                     width), 6});
  }
  if (!n.alarms.empty()) {
    std::string a = fmt::format("ALARMS ({}):", n.alarms.size());
    for (auto& alarm : n.alarms) a += fmt::format(" [{}{}] {}", alarm.severity, alarm.acknowledged ? ", acked" : "", alarm.id);
    h.push_back({fit(a, width), 2});
  }
  if (auto w = warnings_line(in.now->warnings, in.warning_nodes); !w.empty()) h.push_back({fit(w, width), 2});
  std::string shedding;
  for (auto& valve : n.valves)
    if (valve.pressure > 0 || valve.override_mode != "automatic")
      shedding += fmt::format(" {} {:.0f}%{}{} ({} shed{})", valve.id, valve.pressure * 100,
                              valve.override_mode == "automatic" ? "" : " " + valve.override_mode,
                              valve.shadow ? " shadow" : "", count(valve.shed),
                              valve.shadow ? fmt::format(", {} would be", count(valve.would_shed)) : "");
  if (!shedding.empty()) h.push_back({fit("SHEDDING:" + shedding, width), 3});
  if (v.prompt == prompt_kind::set_alarm) {
    h.push_back({fit(fmt::format("raise alarm (ID SEVERITY DESCRIPTION; Enter sends, Esc cancels): {}_", v.prompt_text), width), 1});
  } else if (v.prompt == prompt_kind::valve_minutes) {
    h.push_back({fit(fmt::format("override valve {} {} for how many minutes [10] (Enter sends, Esc cancels): {}_",
                                 v.prompt_op.valve, v.prompt_op.mode, v.prompt_text),
                     width), 1});
  } else if (v.editing_filter) {
    h.push_back({fit(fmt::format("filter: {}_   (Enter keeps it, Esc clears it)", v.filter), width), 1});
  } else if (!v.notice.empty()) {
    h.push_back({fit(v.notice, width), 1});
  } else if (!v.groups.drilled.empty() && v.current == screen::table) {
    h.push_back({fit(fmt::format("group: {}{}   (Esc or G: back to the groups)", v.groups.drilled,
                                 v.filter.empty() ? "" : fmt::format("  filter: \"{}\"", v.filter)),
                     width), 1});
  } else if (!v.filter.empty()) {
    h.push_back({fit(fmt::format("filter: \"{}\"   (/ then Esc clears it)", v.filter), width), 1});
  } else {
    h.push_back({std::string(static_cast<std::size_t>(std::max(0, width)), ' '), 7});
  }
  return h;
}

/// The header in at most `budget` lines: the most droppable lines go first, the rest keep their order.
std::vector<std::string> header(const render_input& in, const view_state& v, int width, int budget) {
  auto h = full_header(in, v, width);
  budget = std::max(1, budget);
  while (static_cast<int>(h.size()) > budget) {
    auto worst = h.begin();
    for (auto it = h.begin(); it != h.end(); ++it)
      if (it->drop >= worst->drop) worst = it;  // the last of the most droppable
    if (worst->drop == 0) break;
    h.erase(worst);
  }
  std::vector<std::string> out;
  for (auto& l : h) out.push_back(std::move(l.text));
  return out;
}

std::vector<std::string> header(const render_input& in, const view_state& v, int width) {
  return header(in, v, width, 1000);
}

/// The table's share of a short terminal: the header gives up lines (sparklines, scheduler
/// meters, memory, ...) so that at least this many rows show.
int header_budget(int height, std::size_t rows) {
  const int body = height - 2;  // titles and footer
  const int keep = std::min(static_cast<int>(std::max<std::size_t>(rows, 1)), std::max(3, body / 2));
  return body - keep;
}

std::string footer(const view_state& v, int width) {
  // A recording has no node to act on, no process details, groups or tree: none of their keys.
  if (v.replay)
    return fit(v.current == screen::table ? "h help  / filter  < > sort  a alarms  space pause  q quit  (Enter k g s G t T need a live node)"
                                          : "h help  Up/Down select  Esc back  space pause",
               width);
  if (v.current == screen::alarms)
    return fit(v.admin ? "a ack  c clear  n raise  o open  x close  u automatic (valve)  r reload rules  Esc back"
                       : "Up/Down select  Esc back  (viewer: a c n o x u r need the admin role)",
               width);
  std::string keys = v.current == screen::table
                         ? "h help  / filter  < > sort  Enter inspect  G groups  t tree  a alarms  space pause  q quit"
                         : "h help  Up/Down select  Enter follow  Esc back  space pause";
  keys += v.admin ? "  k kill  g gc  s suspend  T trace" : "  (viewer: k g s T need admin)";
  return fit(keys, width);
}

void finish(frame& f, int width, int height) {
  f.lines.resize(static_cast<std::size_t>(std::max(0, height)), std::string());
  for (auto& l : f.lines) l = fit(l, width);
}

/// layout(), with a NODE column first when the rows come from several nodes.
std::vector<placed> table_layout(const render_input& in, int width, column_id sort) {
  static const column node_column{column_id::node, "NODE", 12, 0, false, "", 0};
  if (!in.row_nodes) return layout(width, sort);
  auto cols = layout(width - node_column.width - 1, sort);
  cols.insert(cols.begin(), placed{&node_column, node_column.width});
  return cols;
}

/// A table cell, the NODE column's from render_input::row_nodes.
std::string table_cell(const render_input& in, const std::vector<process_row>& rows, std::size_t index, column_id id) {
  if (id == column_id::node) return in.row_nodes && index < in.row_nodes->size() ? (*in.row_nodes)[index] : std::string();
  if (id == column_id::pid && in.now && in.warning_nodes) {  // several nodes: only its own node's warning marks it
    const std::string node = in.row_nodes && index < in.row_nodes->size() ? (*in.row_nodes)[index] : std::string();
    return fmt::format("{}{}", warned(in.now->warnings, rows[index].id, in.warning_nodes, node) ? "!" : "", rows[index].id);
  }
  return cell(rows[index], id, in);
}

frame table_screen(const render_input& in, const view_state& v, int width, int height) {
  frame f;
  const std::size_t count = in.rows ? in.rows->size() : 0;
  const bool with_footer = height >= 4;
  f.lines = header(in, v, width, header_budget(height, count) + (with_footer ? 0 : 1));
  const auto cols = table_layout(in, width, v.sort);
  f.reversed.push_back(static_cast<int>(f.lines.size()));
  f.lines.push_back(titles(cols, &v, width, in.unicode));
  const int room = std::max(0, height - static_cast<int>(f.lines.size()) - (with_footer ? 1 : 0));
  f.page = std::max(1, room);
  std::size_t selected = v.selected, first = v.scroll;
  keep_in_view(selected, first, count, f.page);
  f.first = first;
  if (in.rows) {
    const auto& rows = *in.rows;
    for (int i = 0; i < room && first + static_cast<std::size_t>(i) < rows.size(); ++i) {
      const auto index = first + static_cast<std::size_t>(i);
      if (index == selected) f.reversed.push_back(static_cast<int>(f.lines.size()));
      f.lines.push_back(row_line(cols, [&](const column& c) { return table_cell(in, rows, index, c.id); }, width));
    }
    if (rows.empty() && room > 0) f.lines.push_back(fit(v.filter.empty() ? "(no processes)" : "(no process matches the filter)", width));
  }
  if (with_footer) {
    f.lines.resize(static_cast<std::size_t>(std::max(0, height - 1)));
    f.lines.push_back(footer(v, width));
  }
  finish(f, width, height);
  return f;
}

std::vector<std::string> detail_lines(const process_details& d) {
  const auto& r = d.row;
  std::vector<std::string> l;
  l.push_back(fmt::format("process {}  {}", r.id, r.registered_name.empty() ? "(no registered name)" : r.registered_name));
  l.push_back(fmt::format("status {}  behaviour {}{}", to_string(r.status), r.behaviour,
                          r.current_handler.empty() ? "" : "  handling " + r.current_handler));
  l.push_back(fmt::format("message queue {}  oldest {}  reductions {}  received {}", r.message_queue_len,
                          r.oldest_message_age_ms ? millis(r.oldest_message_age_ms) : "-", r.reductions, r.messages_received));
  l.push_back(fmt::format("memory {} (mailbox {}, heap {}, state {})  gc minor {} major {} reclaimed {}", bytes(r.memory_bytes),
                          bytes(d.mailbox_bytes), bytes(d.heap_bytes), bytes(d.state_bytes), d.minor_gcs, d.major_gcs,
                          bytes(d.gc_reclaimed_bytes)));
  if (!d.responsive) {
    l.push_back("did not answer before the deadline (busy in a long handler): showing its counters only");
    return l;
  }
  const auto& p = d.report;
  l.push_back(fmt::format("trap_exit {}  suspended {}  parent {}  unhandled {}", p.trap_exit ? "yes" : "no",
                          p.suspended ? "yes" : "no", p.parent ? fmt::format("{}", p.parent) : "-", p.unhandled_messages));
  l.push_back("state: " + (p.state.empty() ? std::string("(the behaviour has no describe())") : p.state));
  return l;
}

/// How the inspected process relates to `other`, for the go-to list.
std::string relation(const inspected& d, pid other) {
  if (d.successor && other == d.successor) return "restarted as this, same name";
  const auto& p = d.last.report;
  std::string role = other == p.parent ? "parent" : "";
  auto add = [&role](const char* what) { role += role.empty() ? what : std::string(", ") + what; };
  if (std::find(p.links.begin(), p.links.end(), other) != p.links.end()) add("link");
  if (std::find(p.monitors.begin(), p.monitors.end(), other) != p.monitors.end()) add("monitored");
  if (std::find(p.monitored_by.begin(), p.monitored_by.end(), other) != p.monitored_by.end()) add("monitors it");
  return role;
}

std::string dead_line(const inspected& d) {
  std::string l = fmt::format("DEAD: {} exited ({}); showing its last view", d.last.row.id,
                              d.exit_reason.empty() ? "the node does not say why" : d.exit_reason);
  if (d.successor) l += fmt::format("; restarted as {} (Enter goes there)", d.successor);
  return l;
}

/// " <0.1.0> <0.2.0>" for links and monitors: the first `pid_list_cap`, then " and N more" (a match
/// process monitors every client: hundreds of pids on one line told nothing).
constexpr std::size_t pid_list_cap = 10;
std::string pid_list(const std::vector<pid>& v) {
  std::string s;
  for (std::size_t i = 0; i < v.size() && i < pid_list_cap; ++i) s += fmt::format(" {}", v[i]);
  if (v.size() > pid_list_cap) s += fmt::format(" and {} more", v.size() - pid_list_cap);
  return s.empty() ? " -" : s;
}

frame inspect_screen(const render_input& in, const view_state& v, int width, int height) {
  frame f;
  f.lines = header(in, v, width, std::max(1, (height - 2) / 3));
  const inspected* d = in.details;
  if (!d) {
    f.lines.push_back(fmt::format("process {}: no answer yet", v.inspecting.empty() ? pid{} : v.inspecting.back()));
  } else {
    if (d->dead) {
      f.reversed.push_back(static_cast<int>(f.lines.size()));
      f.lines.push_back(fit(dead_line(*d), width));
    }
    // Every line is cut to the width with '~' (finish() does it), as in the table: a wrapped line
    // (a supervisor's state lists every child) pushed the go-to list off a short screen.
    for (auto& l : detail_lines(d->last)) f.lines.push_back(std::move(l));
    const auto near = neighbours(*d);
    if (d->last.responsive) {
      const auto& p = d->last.report;
      f.lines.push_back(fmt::format("links{}   monitors{}   monitored by{}", pid_list(p.links), pid_list(p.monitors),
                                    pid_list(p.monitored_by)));
    }
    if (!near.empty()) {
      // The go-to title and the selected entry always show: on a screen too short for everything,
      // the last detail lines give way to them.
      const auto room = static_cast<std::size_t>(std::max(0, height - 1 - 2));
      if (f.lines.size() > room) f.lines.resize(room);
      // The go-to list scrolls: it gets what is left above the footer, keeping a line for the
      // queue's title and one message.
      const int left = height - 1 - static_cast<int>(f.lines.size()) - 1 - (d->last.responsive ? 2 : 0);
      f.page = std::max(1, std::min(static_cast<int>(near.size()), left));
      std::size_t selected = v.link_selected, first = v.link_scroll;
      keep_in_view(selected, first, near.size(), f.page);
      f.first = first;
      const std::size_t last = std::min(near.size(), first + static_cast<std::size_t>(f.page));
      f.lines.push_back(near.size() > static_cast<std::size_t>(f.page)
                            ? fmt::format("go to (Up/Down, Enter; {}-{} of {}):", first + 1, last, near.size())
                            : std::string("go to (Up/Down, Enter):"));
      for (std::size_t i = first; i < last; ++i) {
        if (i == selected) f.reversed.push_back(static_cast<int>(f.lines.size()));
        f.lines.push_back(fmt::format("  {}  ({})", near[i], relation(*d, near[i])));
      }
    }
    if (d->last.responsive) {
      const auto& p = d->last.report;
      f.lines.push_back(fmt::format("queued messages (first {}{}):", p.queue.size(),
                                    in.link.role == "viewer" ? "; contents are shown to admins only" : ""));
      for (auto& m : p.queue)
        f.lines.push_back(fmt::format("  {} {}{}", short_type(m.type), bytes(m.bytes), m.text.empty() ? "" : "  " + m.text));
    }
  }
  f.lines.resize(static_cast<std::size_t>(std::max(0, height - 1)));
  f.lines.push_back(footer(v, width));
  finish(f, width, height);
  return f;
}

frame alarms_screen(const render_input& in, const view_state& v, int width, int height) {
  frame f;
  f.lines = header(in, v, width, std::max(1, (height - 2) / 3));
  if (!in.now) {
    f.lines.push_back("no answer from the node yet");
  } else {
    const auto& n = in.now->node;
    // One list: the active alarms, then the valves; the selection moves through both.
    std::vector<std::string> entries;
    for (auto& a : n.alarms)
      entries.push_back(fmt::format("  [{}{}] {}  {}  ({}, raised {})", a.severity, a.acknowledged ? ", acked" : "", a.id,
                                    a.description, a.source, a.raised_at_ms ? "at " + local_time(a.raised_at_ms, in.wall_ms) : "-"));
    for (auto& valve : n.valves)
      entries.push_back(fmt::format("  {}  pressure {:.0f}%  {}{}  offered {}  shed {}{}", valve.id, valve.pressure * 100,
                                    valve.override_mode, valve.override_mode == "automatic" ? "" : " (override)",
                                    count(valve.offered), count(valve.shed),
                                    valve.shadow ? fmt::format("  shadow: would shed {}", count(valve.would_shed)) : ""));
    const int titles = 2;
    f.page = std::max(1, height - 1 - static_cast<int>(f.lines.size()) - titles);
    std::size_t selected = v.alarm_selected, first = v.alarm_scroll;
    keep_in_view(selected, first, entries.size(), f.page);
    f.first = first;
    const std::size_t last = std::min(entries.size(), first + static_cast<std::size_t>(f.page));
    auto show = [&](std::size_t from, std::size_t to) {
      for (std::size_t i = std::max(from, first); i < std::min(to, last); ++i) {
        if (i == selected) f.reversed.push_back(static_cast<int>(f.lines.size()));
        f.lines.push_back(entries[i]);
      }
    };
    f.lines.push_back(n.alarms.empty() ? std::string("ALARMS: none active") : fmt::format("ALARMS ({} active)", n.alarms.size()));
    show(0, n.alarms.size());
    f.lines.push_back(n.valves.empty() ? std::string("VALVES: none (no alarm rules here, or they define no valves)")
                                       : fmt::format("VALVES ({})", n.valves.size()));
    show(n.alarms.size(), entries.size());
  }
  f.lines.resize(static_cast<std::size_t>(std::max(0, height - 1)));
  f.lines.push_back(footer(v, width));
  finish(f, width, height);
  return f;
}

frame help_screen(const view_state& v, int width, int height) {
  std::vector<std::string> body;
  for (auto& k : key_table())
    body.push_back(fmt::format("  {:<28} {}{}", k.keys, k.what, k.admin ? (v.admin ? "  [admin]" : "  [admin: not this session]") : ""));
  body.push_back("");
  body.push_back("columns: MSGQ queued messages, REDS reductions since the previous refresh, MEMORY control block +");
  body.push_back("  mailbox + heap + state, GC collections, AGE of the oldest queued message, HANDLER what it handles now");
  frame f;
  // On a short terminal the help scrolls (Up/Down, PgUp/PgDn); any other key returns.
  f.page = std::max(1, height - 1);
  const std::size_t page = static_cast<std::size_t>(f.page);
  f.first = std::min(v.help_scroll, body.size() > page ? body.size() - page : 0);
  f.lines.push_back(body.size() > page ? fmt::format("etop: keys, lines {}-{} of {} (Up/Down scroll, any other key returns)",
                                                     f.first + 1, std::min(body.size(), f.first + page), body.size())
                                       : std::string("etop: keys (any key returns)"));
  f.reversed.push_back(0);
  for (std::size_t i = f.first; i < body.size() && f.lines.size() < static_cast<std::size_t>(std::max(0, height)); ++i)
    f.lines.push_back(body[i]);
  finish(f, width, height);
  return f;
}

}  // namespace

frame render(const render_input& in, const view_state& v, int width, int height) {
  switch (v.current) {
    case screen::help: return help_screen(v, width, height);
    case screen::inspect: return inspect_screen(in, v, width, height);
    case screen::alarms: return alarms_screen(in, v, width, height);
    case screen::groups: return groups_screen(in, v, width, height);
    case screen::tree: return tree_screen(header(in, v, width, std::max(1, (height - 2) / 3)), v, in.tree_fetched, width, height);
    case screen::trace:
      if (in.trace) return trace_screen(*in.trace, v, width, height);
      break;
    case screen::table: break;
  }
  return table_screen(in, v, width, height);
}

std::vector<std::string> header_lines(const render_input& in, const view_state& v, int width, int budget) {
  return header(in, v, width, budget);
}

int table_rows(const render_input& in, int width, int height) {
  view_state v;
  const std::size_t count = in.rows ? in.rows->size() : 0;
  return std::max(1, height - static_cast<int>(header(in, v, width, header_budget(height, count)).size()) - 2);
}

std::string render_batch(const sample& s, const rates& r, const std::vector<process_row>& rows, int width) {
  render_input in;
  in.now = &s;
  in.rate = r;
  return render_batch(in, rows, width);
}

std::string render_batch(const render_input& in, const std::vector<process_row>& rows, int width) {
  view_state v;
  std::string out;
  for (auto& l : header(in, v, width)) {
    auto t = l;
    while (!t.empty() && t.back() == ' ') t.pop_back();
    if (!t.empty()) out += t + "\n";
  }
  const auto cols = table_layout(in, width, column_id::msgq);
  auto trimmed = [](std::string t) {
    while (!t.empty() && t.back() == ' ') t.pop_back();
    return t + "\n";
  };
  out += trimmed(titles(cols, nullptr, width, false));
  for (std::size_t i = 0; i < rows.size(); ++i)
    out += trimmed(row_line(cols, [&](const column& c) { return table_cell(in, rows, i, c.id); }, width));
  return in.now ? out + warnings_text(in.now->warnings, in.warning_nodes) : out;
}

std::string render_details(const process_details& d) {
  // Each logical line is made printable before the '\n' is added: a line feed in a state or a
  // payload shows as "\n" and cannot start a line of its own.
  std::string out;
  auto line = [&out](const std::string& l) { out += printable(l) + "\n"; };
  for (auto& l : detail_lines(d)) line(l);
  if (d.responsive) {
    const auto& p = d.report;
    line("links" + pid_list(p.links));
    line("monitors" + pid_list(p.monitors));
    line("monitored by" + pid_list(p.monitored_by));
    line(fmt::format("queued messages (first {}):", p.queue.size()));
    for (auto& m : p.queue) line(fmt::format("  {} {}{}", short_type(m.type), bytes(m.bytes), m.text.empty() ? "" : "  " + m.text));
  }
  return out;
}

}  // namespace agner::etop
