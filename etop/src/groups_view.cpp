// The grouped table (G): its columns, order, keys and frames.
#include "agner/etop/groups_view.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "agner/etop/format.hpp"
#include "agner/etop/render.hpp"

namespace agner::etop {

const std::vector<group_col>& group_columns() {
  static const std::vector<group_col> table{
      {group_column::group, "GROUP", 0, 0, "group"},
      {group_column::processes, "PROCS", 7, 0, "processes"},
      {group_column::msgq, "MSGQ", 7, 0, "msgq"},
      {group_column::max_msgq, "MAXQ", 6, 3, "max_msgq"},
      {group_column::memory, "MEMORY", 7, 1, "memory"},
      {group_column::reductions, "REDS", 6, 2, "reductions"},
      {group_column::gc, "GC", 6, 4, "gc"},
  };
  return table;
}

const group_col& group_column_of(group_column id) {
  for (auto& c : group_columns())
    if (c.id == id) return c;
  return group_columns().front();
}

std::optional<group_column> group_column_named(std::string_view name) {
  for (auto& c : group_columns())
    if (c.server_sort == name) return c.id;
  return std::nullopt;
}

namespace {

std::uint64_t value_of(const group_row& g, group_column id) {
  switch (id) {
    case group_column::group: return 0;
    case group_column::processes: return g.processes;
    case group_column::msgq: return g.message_queue_len;
    case group_column::max_msgq: return g.max_message_queue_len;
    case group_column::memory: return g.memory_bytes;
    case group_column::reductions: return g.reductions_in_window;
    case group_column::gc: return g.gc_runs;
  }
  return 0;
}

std::string cell(const group_row& g, group_column id, bool reductions_known) {
  switch (id) {
    case group_column::group: return g.group;
    case group_column::processes: return count(g.processes);
    case group_column::msgq: return count(g.message_queue_len);
    case group_column::max_msgq: return count(g.max_message_queue_len);
    case group_column::memory: return bytes(g.memory_bytes);
    case group_column::reductions: return reductions_known ? count(g.reductions_in_window) : "-";
    case group_column::gc: return count(g.gc_runs);
  }
  return {};
}

struct placed {
  const group_col* col;
  int width;
};

/// The columns that fit in `width`: GROUP takes what the others leave (8 to 40).
std::vector<placed> layout(int width, group_column sort) {
  std::vector<const group_col*> shown;
  for (auto& c : group_columns()) shown.push_back(&c);
  auto need = [&] {
    int w = static_cast<int>(shown.size()) - 1;
    for (auto* c : shown) w += c->width ? c->width : 8;
    return w;
  };
  auto rank = [sort](const group_col* c) { return c->id == sort ? 0 : c->drop_order; };
  while (need() > width) {
    auto it = std::max_element(shown.begin(), shown.end(), [&](auto* a, auto* b) { return rank(a) < rank(b); });
    if (rank(*it) == 0) break;
    shown.erase(it);
  }
  int fixed = static_cast<int>(shown.size()) - 1;
  for (auto* c : shown) fixed += c->width;
  std::vector<placed> out;
  // GROUP gets what is left, up to 40 columns: past that the figures drift away from their names.
  for (auto* c : shown) out.push_back({c, c->width ? c->width : std::clamp(width - fixed, 8, 40)});
  return out;
}

template <class Text>
std::string row_line(const std::vector<placed>& cols, Text&& text, int width) {
  std::string line;
  for (std::size_t i = 0; i < cols.size(); ++i) {
    if (i) line += ' ';
    line += fit(text(*cols[i].col), cols[i].width, cols[i].col->id != group_column::group);
  }
  return fit(line, width);
}

std::string titles(const std::vector<placed>& cols, const groups_state* g, int width, bool unicode) {
  return row_line(cols, [&](const group_col& c) {
    std::string t(c.title);
    if (g && c.id == g->sort) {
      const bool up = g->ascending == (c.id != group_column::group);
      t += unicode ? (up ? "▲" : "▼") : (up ? "^" : "v");
    }
    return t;
  }, width);
}

std::string summary(const groups_sample& s) {
  const auto& r = s.result;
  return fmt::format("GROUPS: {} group{} of {} process{}{}{}", r.total_groups, r.total_groups == 1 ? "" : "s", r.processes,
                     r.processes == 1 ? "" : "es",
                     r.groups.size() < r.total_groups ? fmt::format(" (the first {} shown)", r.groups.size()) : "",
                     r.groups_capped ? "; past 4096 groups the rest are in (other)" : "");
}

void move(std::size_t& index, int key, std::size_t count, int page) {
  const auto p = static_cast<std::size_t>(std::max(1, page));
  if (count == 0) return;
  if (key == keys::up) index = index > 0 ? index - 1 : 0;
  if (key == keys::down) index = std::min(index + 1, count - 1);
  if (key == keys::page_up) index = index > p ? index - p : 0;
  if (key == keys::page_down) index = std::min(index + p, count - 1);
  if (key == keys::home) index = 0;
  if (key == keys::end) index = count - 1;
}

}  // namespace

std::vector<group_row> arrange_groups(std::vector<group_row> rows, const groups_state& g) {
  const bool by_name = g.sort == group_column::group;
  std::stable_sort(rows.begin(), rows.end(), [&](const group_row& a, const group_row& b) {
    if (!by_name) {
      const auto va = value_of(a, g.sort), vb = value_of(b, g.sort);
      if (va != vb) return g.ascending ? va < vb : va > vb;
      return a.group < b.group;
    }
    return g.ascending ? a.group > b.group : a.group < b.group;
  });
  return rows;
}

void follow_group_selection(groups_state& g, const std::vector<group_row>& rows) {
  g.shown.clear();
  for (auto& r : rows) g.shown.push_back(r.group);
  if (g.selected_group.empty()) return;
  for (std::size_t i = 0; i < rows.size(); ++i)
    if (rows[i].group == g.selected_group) {
      g.selected = i;
      return;
    }
}

outcome on_groups_key(view_state& v, int key, int page) {
  auto& g = v.groups;
  const std::size_t count = g.shown.size();
  if (key == keys::up || key == keys::down || key == keys::page_up || key == keys::page_down || key == keys::home ||
      key == keys::end) {
    move(g.selected, key, count, page);
    keep_in_view(g.selected, g.scroll, count, page);
    if (g.selected < count) g.selected_group = g.shown[g.selected];
    return {outcome::redraw};
  }
  if (key == keys::enter) {
    if (g.selected >= count) return {};
    g.drilled = g.shown[g.selected];
    g.selected_group = g.drilled;
    v.current = screen::table;
    v.selected = v.scroll = 0;
    v.selected_pid = {};
    return {outcome::refresh};
  }
  if (key == keys::escape || key == keys::backspace || key == 'G' || key == 'q') {
    v.current = screen::table;
    return {outcome::refresh};
  }
  if (key == 'I') {
    g.ascending = !g.ascending;
    return {outcome::refresh};
  }
  if (key == '<' || key == '>' || key == keys::left || key == keys::right) {
    const auto& cols = group_columns();
    auto it = std::find_if(cols.begin(), cols.end(), [&](const group_col& c) { return c.id == g.sort; });
    const auto i = static_cast<std::size_t>(it - cols.begin());
    const bool left = key == '<' || key == keys::left;
    g.sort = cols[left ? (i + cols.size() - 1) % cols.size() : (i + 1) % cols.size()].id;
    g.ascending = false;
    return {outcome::refresh};
  }
  return {};
}

bool table_groups_key(view_state& v, int key, outcome& out) {
  if (key == 'G' || (key == keys::escape && !v.groups.drilled.empty())) {
    v.groups.drilled.clear();
    v.current = screen::groups;
    out = {outcome::refresh};
    return true;
  }
  return false;
}

frame groups_screen(const render_input& in, const view_state& v, int width, int height) {
  frame f;
  const auto& g = v.groups;
  std::vector<group_row> rows;
  if (in.groups) rows = arrange_groups(in.groups->result.groups, g);
  const bool with_footer = height >= 4;
  const int body = height - 3;  // titles, summary, footer
  f.lines = header_lines(in, v, width, std::max(1, body - std::min(static_cast<int>(std::max<std::size_t>(rows.size(), 1)),
                                                                  std::max(3, body / 2))));
  f.lines.push_back(in.groups ? fit(summary(*in.groups), width) : fit("GROUPS: waiting for the node's answer", width));
  const auto cols = layout(width, g.sort);
  f.reversed.push_back(static_cast<int>(f.lines.size()));
  f.lines.push_back(titles(cols, &g, width, in.unicode));
  const int room = std::max(0, height - static_cast<int>(f.lines.size()) - (with_footer ? 1 : 0));
  f.page = std::max(1, room);
  std::size_t selected = g.selected, first = g.scroll;
  keep_in_view(selected, first, rows.size(), f.page);
  f.first = first;
  const bool known = in.groups && in.groups->reductions_known;
  for (int i = 0; i < room && first + static_cast<std::size_t>(i) < rows.size(); ++i) {
    const auto index = first + static_cast<std::size_t>(i);
    if (index == selected) f.reversed.push_back(static_cast<int>(f.lines.size()));
    f.lines.push_back(row_line(cols, [&](const group_col& c) { return cell(rows[index], c.id, known); }, width));
  }
  if (with_footer) {
    f.lines.resize(static_cast<std::size_t>(std::max(0, height - 1)));
    f.lines.push_back(fit("h help  Up/Down select  Enter its processes  < > sort  I invert  space pause  Esc/G back", width));
  }
  f.lines.resize(static_cast<std::size_t>(std::max(0, height)));
  for (auto& l : f.lines) l = fit(l, width);
  return f;
}

std::string render_groups_batch(const sample& s, const rates& r, const groups_sample& gs, const view_state& v, int width) {
  render_input in;
  in.now = &s;
  in.rate = r;
  auto trimmed = [](std::string t) {
    while (!t.empty() && t.back() == ' ') t.pop_back();
    return t;
  };
  std::string out;
  view_state plain;
  for (auto& l : header_lines(in, plain, width, 1000))
    if (auto t = trimmed(l); !t.empty()) out += t + "\n";
  out += trimmed(fit(summary(gs), width)) + "\n";
  const auto cols = layout(width, v.groups.sort);
  out += trimmed(titles(cols, nullptr, width, false)) + "\n";
  for (auto& row : arrange_groups(gs.result.groups, v.groups))
    out += trimmed(row_line(cols, [&](const group_col& c) { return cell(row, c.id, gs.reductions_known); }, width)) + "\n";
  return out;
}

}  // namespace agner::etop
