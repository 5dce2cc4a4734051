// The grouped table (G): its order, its keys, and its frames.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include "agner/etop/groups_view.hpp"
#include "agner/etop/render.hpp"

using namespace agner;
using namespace agner::etop;

namespace {

group_row row(std::string name, std::uint64_t processes, std::uint64_t queued) {
  group_row g;
  g.group = std::move(name);
  g.processes = processes;
  g.message_queue_len = queued;
  g.max_message_queue_len = queued;
  return g;
}

groups_sample three_groups() {
  groups_sample s;
  s.result.groups = {row("user_sup_*", 5, 6), row("sink", 10, 0), row("match:*", 3, 0)};
  s.result.processes = 18;
  s.result.total_groups = 3;
  s.reductions_known = true;
  return s;
}

std::vector<std::string> names(const std::vector<group_row>& rows) {
  std::vector<std::string> out;
  for (auto& r : rows) out.push_back(r.group);
  return out;
}

}  // namespace

TEST_CASE("groups are arranged by the chosen column, ties by name, and I inverts") {
  groups_state g;
  const auto s = three_groups();
  CHECK(names(arrange_groups(s.result.groups, g)) == std::vector<std::string>{"user_sup_*", "match:*", "sink"});
  g.sort = group_column::processes;
  CHECK(names(arrange_groups(s.result.groups, g)) == std::vector<std::string>{"sink", "user_sup_*", "match:*"});
  g.ascending = true;
  CHECK(names(arrange_groups(s.result.groups, g)) == std::vector<std::string>{"match:*", "user_sup_*", "sink"});
  g = {};
  g.sort = group_column::group;
  CHECK(names(arrange_groups(s.result.groups, g)) == std::vector<std::string>{"match:*", "sink", "user_sup_*"});
}

TEST_CASE("G opens the grouped table, Enter drills into the selected group, Esc and G go back") {
  view_state v;
  CHECK(on_key(v, 'G', {}, nullptr, 10).what == outcome::refresh);
  CHECK(v.current == screen::groups);
  follow_group_selection(v.groups, arrange_groups(three_groups().result.groups, v.groups));
  CHECK(on_key(v, keys::down, {}, nullptr, 10).what == outcome::redraw);
  CHECK(v.groups.selected_group == "match:*");
  CHECK(on_key(v, keys::enter, {}, nullptr, 10).what == outcome::refresh);
  CHECK(v.current == screen::table);
  CHECK(v.groups.drilled == "match:*");
  CHECK(on_key(v, keys::escape, {}, nullptr, 10).what == outcome::refresh);  // Esc: back to the groups
  CHECK(v.current == screen::groups);
  CHECK(v.groups.drilled.empty());
  CHECK(on_key(v, keys::enter, {}, nullptr, 10).what == outcome::refresh);
  CHECK(on_key(v, 'G', {}, nullptr, 10).what == outcome::refresh);  // G too
  CHECK(v.current == screen::groups);
  CHECK(on_key(v, keys::escape, {}, nullptr, 10).what == outcome::refresh);  // and from the groups to the table
  CHECK(v.current == screen::table);
  CHECK(v.groups.drilled.empty());
  CHECK(on_key(v, keys::escape, {}, nullptr, 10).what == outcome::none);  // an undrilled table ignores Esc
}

TEST_CASE("on the grouped table < > move the sort between its columns and h returns to it") {
  view_state v;
  on_key(v, 'G', {}, nullptr, 10);
  CHECK(v.groups.sort == group_column::msgq);
  on_key(v, '>', {}, nullptr, 10);
  CHECK(v.groups.sort == group_column::max_msgq);
  on_key(v, '<', {}, nullptr, 10);
  on_key(v, '<', {}, nullptr, 10);
  CHECK(v.groups.sort == group_column::processes);
  on_key(v, 'I', {}, nullptr, 10);
  CHECK(v.groups.ascending);
  on_key(v, 'h', {}, nullptr, 10);
  CHECK(v.current == screen::help);
  on_key(v, 'x', {}, nullptr, 10);
  CHECK(v.current == screen::groups);
  CHECK(v.sort == column_id::msgq);  // the process table's sort is its own
}

TEST_CASE("the selection stays on its group when a refresh re-orders the groups") {
  groups_state g;
  auto s = three_groups();
  follow_group_selection(g, arrange_groups(s.result.groups, g));
  g.selected = 2;
  g.selected_group = "sink";
  s.result.groups[1].message_queue_len = 100;  // sink goes first
  follow_group_selection(g, arrange_groups(s.result.groups, g));
  CHECK(g.selected == 0);
  CHECK(g.shown.front() == "sink");
}

TEST_CASE("the grouped frame shows a title with the sort mark, one line per group and the totals") {
  view_state v;
  v.current = screen::groups;
  const auto g = three_groups();
  sample s;
  s.node.name = "n";
  render_input in;
  in.now = &s;
  in.groups = &g;
  const frame f = render(in, v, 80, 24);
  REQUIRE(f.lines.size() == 24);
  for (auto& l : f.lines) CHECK(l.size() >= 80);  // padded to the width (▼ takes 3 bytes)
  auto at = [&](const std::string& text) {
    return std::find_if(f.lines.begin(), f.lines.end(), [&](const std::string& l) { return l.find(text) != std::string::npos; });
  };
  REQUIRE(at("GROUPS: 3 groups of 18 processes") != f.lines.end());
  const auto title = at("GROUP ");
  REQUIRE(title != f.lines.end());
  CHECK(title->find("MSGQ▼") != std::string::npos);
  CHECK((title + 1)->starts_with("user_sup_*"));
  CHECK((title + 2)->starts_with("match:*"));
  CHECK((title + 3)->starts_with("sink"));
  CHECK(f.lines.back().find("Enter its processes") != std::string::npos);
  const frame narrow = render(in, v, 40, 24);  // GC, REDS, MAXQ, MEMORY go; GROUP, PROCS, MSGQ stay
  const auto t = std::find_if(narrow.lines.begin(), narrow.lines.end(), [](const std::string& l) { return l.starts_with("GROUP "); });
  REQUIRE(t != narrow.lines.end());
  CHECK(t->find("PROCS") != std::string::npos);
  CHECK(t->find("GC") == std::string::npos);
}

TEST_CASE("the grouped batch text has a line per group and shows REDS as - before a window") {
  view_state v;
  auto g = three_groups();
  g.reductions_known = false;
  sample s;
  s.node.name = "n";
  const std::string text = render_groups_batch(s, {}, g, v, 120);
  CHECK(text.find("GROUPS: 3 groups of 18 processes\n") != std::string::npos);
  CHECK(text.find("\nuser_sup_*") != std::string::npos);
  CHECK(text.find("\nsink") != std::string::npos);
  const auto line = text.substr(text.find("\nmatch:*") + 1);
  CHECK(line.substr(0, line.find('\n')).find(" - ") != std::string::npos);
}

TEST_CASE("a hostile group name reaches the grouped table and its batch text only as visible escapes") {
  view_state v;
  v.current = screen::groups;
  groups_sample g;
  g.result.groups = {row("evil\x1b]0;owned\x07_*", 1, 0)};
  g.result.processes = g.result.total_groups = 1;
  sample s;
  render_input in;
  in.now = &s;
  in.groups = &g;
  for (auto& l : render(in, v, 100, 20).lines) CHECK(l.find('\x1b') == std::string::npos);
  const std::string text = render_groups_batch(s, {}, g, v, 100);
  CHECK(text.find('\x1b') == std::string::npos);
  CHECK(text.find('\x07') == std::string::npos);
  CHECK(text.find("evil\\x1b]0;owned") != std::string::npos);
}
