// The supervision tree screen: lines, collapse and expand, Enter inspects, Esc goes back.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include "agner/etop/render.hpp"
#include "agner/etop/view.hpp"

using namespace agner;
using namespace agner::etop;
using namespace agner::introspect;

namespace {

pid P(std::uint32_t i) { return pid{i, 0}; }

tree_child worker(const std::string& id, std::uint32_t i, const std::string& status = "waiting") {
  tree_child c;
  c.id = id;
  c.current = status == "not_running" ? pid{} : P(i);
  c.restart = "permanent";
  c.type = "worker";
  c.status = status;
  return c;
}

/// top (one_for_one 1/10) over inner (rest_for_one 4/5: near its limit) with two workers, then a
/// worker that is not running.
supervision_tree sample_tree() {
  tree_supervisor inner;
  inner.id = P(2);
  inner.strategy = "rest_for_one";
  inner.intensity = 5;
  inner.period_ms = 10000;
  inner.restarts = 4;
  inner.child_count = 2;
  inner.children = {worker("w1", 3), worker("w2", 4)};
  tree_child inner_row = worker("inner_sup", 2);
  inner_row.type = "supervisor";
  inner_row.below.push_back(inner);
  tree_supervisor top;
  top.id = P(1);
  top.registered_name = "top_sup";
  top.strategy = "one_for_one";
  top.intensity = 10;
  top.period_ms = 60000;
  top.restarts = 1;
  top.child_count = 2;
  top.children = {inner_row, worker("gone", 0, "not_running")};
  supervision_tree t;
  t.roots = {top};
  t.supervisors = 2;
  t.roots_total = 1;
  return t;
}

view_state tree_view() {
  view_state v;
  on_key(v, 't', {}, nullptr, 10);
  v.tree.lines = flatten(sample_tree(), v.tree.collapsed);
  return v;
}

void press(view_state& v, int key) {
  on_key(v, key, {}, nullptr, 10);
  v.tree.lines = flatten(sample_tree(), v.tree.collapsed);
  follow_tree_selection(v.tree);
}

}  // namespace

TEST_CASE("the tree indents children under their supervisor with strategy, restarts and each child's type and status") {
  auto lines = flatten(sample_tree(), {});
  REQUIRE(lines.size() == 5);
  CHECK(lines[0].text == "[-] top_sup  supervisor root  one_for_one  restarts 1/10 in 60s");
  CHECK(lines[1].text == "  [-] inner_sup  supervisor permanent waiting  rest_for_one  restarts 4/5 in 10s  NEAR LIMIT");
  CHECK(lines[2].text == "        w1  worker permanent waiting");
  CHECK(lines[4].text == "      gone  worker permanent not_running");
  CHECK(lines[1].near_limit);
  CHECK_FALSE(lines[0].near_limit);
  CHECK(lines[2].parent == 1);
  CHECK(lines[1].parent == 0);
  CHECK_FALSE(lines[4].id);
}

TEST_CASE("near the restart limit means 80 percent of MaxR or more, never for an intensity of 0") {
  CHECK(near_restart_limit(4, 5));
  CHECK_FALSE(near_restart_limit(3, 5));
  CHECK(near_restart_limit(1, 1));
  CHECK(near_restart_limit(8, 10));
  CHECK_FALSE(near_restart_limit(0, 0));
  CHECK_FALSE(near_restart_limit(0, 3));
}

TEST_CASE("Left collapses the selected supervisor and Right expands it again") {
  auto v = tree_view();
  CHECK(v.current == screen::tree);
  press(v, keys::down);  // inner_sup
  press(v, keys::left);
  REQUIRE(v.tree.lines.size() == 3);
  CHECK(v.tree.lines[1].text.starts_with("  [+] inner_sup"));
  CHECK(v.tree.selected == 1);
  press(v, keys::right);
  CHECK(v.tree.lines.size() == 5);
  press(v, '-');
  CHECK(v.tree.lines.size() == 3);
  press(v, '+');
  CHECK(v.tree.lines.size() == 5);
}

TEST_CASE("Left on a worker selects its supervisor, and collapsing a root hides everything under it") {
  auto v = tree_view();
  press(v, keys::down);
  press(v, keys::down);  // w1
  press(v, keys::left);
  CHECK(v.tree.selected == 1);
  press(v, keys::home);
  press(v, keys::left);
  CHECK(v.tree.lines.size() == 1);
}

TEST_CASE("Enter in the tree inspects the selected process and Esc comes back to the tree, then to the table") {
  auto v = tree_view();
  press(v, keys::down);
  press(v, keys::down);  // w1, <0.3.0>
  press(v, keys::enter);
  CHECK(v.current == screen::inspect);
  REQUIRE(v.inspecting.size() == 1);
  CHECK(v.inspecting[0] == P(3));
  press(v, keys::escape);
  CHECK(v.current == screen::tree);
  press(v, 'h');
  CHECK(v.current == screen::help);
  press(v, 'x');
  CHECK(v.current == screen::tree);
  press(v, keys::end);  // "gone": not running, nothing to inspect
  press(v, keys::enter);
  CHECK(v.current == screen::tree);
  CHECK(v.notice == "not running: nothing to inspect");
  press(v, keys::escape);
  CHECK(v.current == screen::table);
  CHECK_FALSE(v.tree.open);
}

TEST_CASE("the tree screen draws the selection reversed and a supervisor near its limit in bold") {
  auto v = tree_view();
  press(v, keys::down);
  const frame f = tree_screen({"header"}, v, true, 100, 12);
  REQUIRE(f.lines.size() == 12);
  CHECK(f.lines[1].starts_with("PID"));
  CHECK(f.lines[3].starts_with("<0.2.0>       "));
  CHECK(std::find(f.reversed.begin(), f.reversed.end(), 3) != f.reversed.end());
  CHECK(std::find(f.bold.begin(), f.bold.end(), 3) != f.bold.end());
  CHECK(f.lines[6].starts_with("-             "));  // not running: no pid
  CHECK(f.lines.back().find("Left/- collapse") != std::string::npos);
}

TEST_CASE("batch mode prints the whole tree with a pid column") {
  const std::string out = render_tree_batch(sample_tree());
  CHECK(out.starts_with("supervision tree: 2 supervisors, 1 roots\nPID           TREE\n"));
  CHECK(out.find("<0.1.0>       [-] top_sup") != std::string::npos);
  CHECK(out.find("<0.4.0>               w2  worker permanent waiting\n") != std::string::npos);
}

TEST_CASE("a node that refuses the tree says why on the tree screen instead of waiting for ever") {
  view_state v;
  on_key(v, 't', {}, nullptr, 10);
  v.tree.problem = "supervision_tree: unknown op 'supervision_tree'";
  const frame f = tree_screen({"header"}, v, false, 80, 10);
  CHECK(f.lines[2].starts_with("supervision_tree: unknown op 'supervision_tree'"));
  for (auto& l : f.lines) CHECK(l.find("asking the node") == std::string::npos);
}
