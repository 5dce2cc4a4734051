// Every snapshot type survives its JSON codec: out and back gives an equal value. Each value sets
// every field to something other than its default, so a field the codec forgets fails here.
#include <doctest/doctest.h>

#include "agner/snapshot/groups.hpp"
#include "agner/snapshot/json.hpp"
#include "agner/snapshot/tree.hpp"
#include "agner/snapshot/warning_rows.hpp"

namespace {

using namespace agner;
using namespace agner::introspect;

process_row a_process_row() {
  return {pid{5, 2}, "matcher", "ledger", "deposit", 12, 3400, 56, 78, 9000, 3, 250, process_status::runnable};
}

alarm_row an_alarm_row() { return {"run_queue_high", "system", "major", "run queue above 100", 1700000000123, true}; }

valve_row a_valve_row() { return {"spawns", 0.25, true, "closed", 1000, 200, 30}; }

scheduler_row a_scheduler_row() { return {1, 4, 5000, 600, 7000000, 9000000, pid{7, 1}, "tick"}; }

node_info a_node_info() {
  node_info n;
  n.name = "n1";
  n.uptime_ns = 123456789;
  n.process_count = 10;
  n.process_limit = 1000;
  n.run_queue_total = 4;
  n.schedulers = {a_scheduler_row(), {2, 0, 1, 2, 3, 4, pid{}, ""}};
  n.messages = {100, 80, 6, 1, 2, 3, 4, 5, 6, 7};
  n.gc = {1, 2, 3, 4};
  n.memory = {5, 6, 7, 8};
  n.ports = {9, 10, 11, 12};
  n.alarms = {an_alarm_row()};
  n.valves = {a_valve_row()};
  return n;
}

}  // namespace

TEST_CASE("a pid survives its text form") {
  const pid p{12, 3};
  CHECK(parse_pid(to_string(p)) == p);
  CHECK(to_string(p) == "<0.12.3>");
  CHECK_FALSE(parse_pid("<0.12>").has_value());
}

TEST_CASE("a process row survives its JSON") {
  const auto r = a_process_row();
  CHECK(process_row_from_json(to_json(r)) == r);
}

TEST_CASE("process details with their report survive their JSON") {
  process_details d;
  d.row = a_process_row();
  d.mailbox_bytes = 1;
  d.heap_bytes = 2;
  d.state_bytes = 3;
  d.minor_gcs = 4;
  d.major_gcs = 5;
  d.gc_reclaimed_bytes = 6;
  d.responsive = true;
  d.report.behaviour = d.row.behaviour;  // sent once, as the row's behaviour
  d.report.links = {pid{1, 1}, pid{2, 1}};
  d.report.monitors = {pid{3, 1}};
  d.report.monitored_by = {pid{4, 1}};
  d.report.parent = pid{0, 1};
  d.report.trap_exit = true;
  d.report.suspended = true;
  d.report.state = "balance=12";
  d.report.queue = {{"deposit", 64, "deposit{12}"}, {"withdraw", 32, ""}};
  d.report.unhandled_messages = 2;
  CHECK(process_details_from_json(to_json(d)) == d);
}

TEST_CASE("process details of an unresponsive process survive their JSON without a report") {
  process_details d;
  d.row = a_process_row();
  d.responsive = false;
  CHECK(process_details_from_json(to_json(d)) == d);
}

TEST_CASE("a scheduler row survives its JSON") {
  const auto s = a_scheduler_row();
  CHECK(scheduler_row_from_json(to_json(s)) == s);
}

TEST_CASE("an alarm row survives its JSON") {
  const auto a = an_alarm_row();
  CHECK(alarm_row_from_json(to_json(a)) == a);
}

TEST_CASE("an alarm event survives its JSON") {
  const alarm_event e{1700000000123, "run_queue_high", "system", "inactive", "major", 150.5};
  CHECK(alarm_event_from_json(to_json(e)) == e);
}

TEST_CASE("a valve row survives its JSON") {
  const auto v = a_valve_row();
  CHECK(valve_row_from_json(to_json(v)) == v);
}

TEST_CASE("node info with its counters, schedulers, alarms and valves survives its JSON") {
  const auto n = a_node_info();
  CHECK(node_info_from_json(to_json(n)) == n);
}

TEST_CASE("a groups answer and its rows survive their JSON") {
  const group_row g{"user_sup_*", 3, 10, 7, 4096, 500, 20, 2};
  CHECK(group_row_from_json(to_json(g)) == g);
  const groups_result r{{g, {"(other)", 1, 0, 0, 128, 1, 0, 0}}, 4, 9, 1000, true};
  CHECK(groups_result_from_json(to_json(r)) == r);
}

TEST_CASE("a supervision tree with nested supervisors survives its JSON") {
  supervision_tree t;
  tree_supervisor below{pid{9, 1}, "user_sup_1", true, "one_for_all", 5, 10000, 1, false, 1, false,
                        {{"worker", pid{10, 1}, "", "transient", "worker", "waiting", {}, false}}};
  tree_supervisor root{pid{8, 1}, "top_sup", true, "one_for_one", 3, 5000, 2, true, 3, true, {}};
  root.children.push_back({"users", pid{9, 1}, "user_sup_1", "permanent", "supervisor", "waiting", {below}, false});
  root.children.push_back({"gone", pid{}, "", "temporary", "worker", "not_running", {}, false});
  root.children.push_back({"deep", pid{11, 1}, "", "permanent", "supervisor", "waiting", {}, true});
  t.roots = {root, tree_supervisor{pid{12, 1}, "busy_sup", false, "", 0, 0, 0, false, 0, false, {}}};
  t.supervisors = 4;
  t.roots_total = 2;
  t.entries = 7;
  t.truncated = true;
  CHECK(supervision_tree_from_json(to_json(t)) == t);
}

TEST_CASE("a warning row survives its JSON, with and without a handler") {
  const warning_row w{"never_yielded", pid{3, 2}, "matcher", "one handler held its scheduler 1500 ms", 1500, 1000,
                      1700000000000, "deposit"};
  CHECK(warning_row_from_json(to_json(w)) == w);
  auto v = w;
  v.kind = "queue_growing";
  v.handler.clear();
  CHECK(warning_row_from_json(to_json(v)) == v);
}

TEST_CASE("a decoded document that lacks a field is refused, not defaulted") {
  auto j = to_json(a_process_row());
  j.erase("message_queue_len");
  CHECK_THROWS_AS(process_row_from_json(j), nlohmann::json::exception);
}
