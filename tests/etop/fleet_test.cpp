// etop over several nodes: rows merged in one order, the header summing what adds up, Tab's cycle.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "agner/etop/fleet.hpp"

using namespace agner;
using namespace agner::etop;

namespace {

process_row row(std::uint32_t index, std::uint64_t queue) {
  process_row r;
  r.id = pid{index, 0};
  r.message_queue_len = queue;
  return r;
}

sample node_sample(const std::string& name, std::vector<process_row> rows, std::uint64_t delivered, double at_s) {
  sample s;
  s.node.name = name;
  s.node.process_count = static_cast<std::uint32_t>(rows.size());
  s.node.process_limit = 100;
  s.node.uptime_ns = name == "a" ? 5'000'000'000 : 90'000'000'000;
  s.node.schedulers.resize(name == "a" ? 1 : 2);
  s.node.messages.delivered = delivered;
  s.node.memory.resident_bytes = 1000;
  s.node.alarms = {{"disk_full", "application", "major", "", 0, false}};
  s.rows = std::move(rows);
  s.reductions_known = true;
  s.at_s = at_s;
  return s;
}

}  // namespace

TEST_CASE("rows of several nodes merge in one order, ties by pid then by the node's place") {
  const sample a = node_sample("a", {row(1, 5), row(2, 0)}, 0, 1);
  const sample b = node_sample("b", {row(1, 5), row(3, 9)}, 0, 1);
  const std::vector<member_view> members{{"a", &a, nullptr, {}}, {"b", &b, nullptr, {}}};
  view_state v;  // by queue length, largest first
  const merged_rows m = merge_rows(members, v);
  REQUIRE(m.rows.size() == 4);
  CHECK(m.rows[0].id == pid{3, 0});
  CHECK(m.node_names == std::vector<std::string>{"b", "a", "b", "a"});
  CHECK(m.node == std::vector<std::size_t>{1, 0, 1, 0});
  CHECK(m.rows[3].id == pid{2, 0});
}

TEST_CASE("a disconnected node's rows leave the merged table and the sums") {
  const sample a = node_sample("a", {row(1, 5)}, 100, 1);
  const sample b = node_sample("b", {row(1, 7)}, 100, 1);
  connection down;
  down.problem = "cannot attach";
  const std::vector<member_view> members{{"a", &a, nullptr, {}}, {"b", &b, nullptr, down}};
  const merged_rows m = merge_rows(members, view_state{});
  REQUIRE(m.rows.size() == 1);
  CHECK(m.node_names[0] == "a");
  const fleet_header h = sum_nodes(members, 2);
  CHECK(h.sum.node.name == "1 of 2 nodes");
  CHECK(h.sum.node.process_count == 1);
  CHECK(h.nodes_line.find("b DISCONNECTED (cannot attach; retrying in 0s)") != std::string::npos);
}

TEST_CASE("the header sums what adds up and lists each node's uptime and schedulers") {
  const sample a0 = node_sample("a", {row(1, 0)}, 100, 1), a1 = node_sample("a", {row(1, 0)}, 300, 3);
  const sample b0 = node_sample("b", {row(1, 0), row(2, 0)}, 0, 1), b1 = node_sample("b", {row(1, 0), row(2, 0)}, 1000, 2);
  const std::vector<member_view> members{{"a", &a1, &a0, {}}, {"b", &b1, &b0, {}}};
  const fleet_header h = sum_nodes(members, 3);
  CHECK(h.sum.node.process_count == 3);
  CHECK(h.sum.node.process_limit == 200);
  CHECK(h.sum.node.memory.resident_bytes == 2000);
  CHECK(h.sum.node.schedulers.size() == 3);
  CHECK(h.sum.node.uptime_ns == 90'000'000'000);  // the longest
  REQUIRE(h.rate.valid);
  CHECK(h.rate.messages == doctest::Approx(100 + 1000));  // each node's own rate, summed
  CHECK(h.rate.utilisation.size() == 3);
  REQUIRE(h.sum.node.alarms.size() == 2);
  CHECK(h.sum.node.alarms[1].id == "b/disk_full");
  CHECK(h.nodes_line == "nodes: a up 0h00m05s 1 sched  |  b up 0h01m30s 2 sched  (Tab: one node's view)");
}

TEST_CASE("Tab goes from all nodes to each node's own view and back to all") {
  std::size_t focus = 2;  // all, with two nodes
  focus = next_focus(focus, 2);
  CHECK(focus == 0);
  focus = next_focus(focus, 2);
  CHECK(focus == 1);
  focus = next_focus(focus, 2);
  CHECK(focus == 2);
}

TEST_CASE("a silent node keeps its last rows marked ~NAME and leaves the sums") {
  const sample a = node_sample("a", {row(1, 5)}, 100, 1);
  const sample b = node_sample("b", {row(1, 7)}, 100, 1);
  member_view silent{"b", &b, nullptr, {}};
  silent.silent_s = 4;
  silent.rows_kept_s = 10;
  const std::vector<member_view> members{{"a", &a, nullptr, {}}, silent};
  const merged_rows m = merge_rows(members, view_state{});
  REQUIRE(m.rows.size() == 2);
  CHECK(m.node_names == std::vector<std::string>{"~b", "a"});
  const fleet_header h = sum_nodes(members, 7);
  CHECK(h.sum.node.name == "1 of 2 nodes");
  CHECK(h.sum.node.process_count == 1);
  CHECK(h.nodes_line.find("b NOT ANSWERING for 4s (its ~rows are 6s old, shown until 10s)") != std::string::npos);
  const auto doc = fleet_json(members, m, 2, h);
  CHECK(doc["nodes"][1]["attached"] == false);
  CHECK(doc["nodes"][1]["problem"] == "not answering for 4 s");
  CHECK(doc["nodes"][1]["not_answering_s"] == 4.0);
  CHECK(doc["processes"][0]["node"] == "b");
  CHECK(doc["processes"][0]["stale"] == true);
  CHECK_FALSE(doc["processes"][1].contains("stale"));
}

TEST_CASE("a node silent for as long as its rows are kept leaves the table and stays on the nodes line") {
  const sample a = node_sample("a", {row(1, 5)}, 100, 1);
  const sample b = node_sample("b", {row(1, 7)}, 100, 1);
  member_view silent{"b", &b, nullptr, {}};
  silent.silent_s = 10;
  silent.rows_kept_s = 10;
  const std::vector<member_view> members{{"a", &a, nullptr, {}}, silent};
  const merged_rows m = merge_rows(members, view_state{});
  CHECK(m.node_names == std::vector<std::string>{"a"});
  CHECK(sum_nodes(members, 12).nodes_line.find("b NOT ANSWERING for 10s (its rows left the table at 10s)") != std::string::npos);
}

TEST_CASE("a refresh waits the interval for the nodes, at least 1 s, and keeps a silent node's rows 5 intervals, at least 10 s") {
  CHECK(answer_wait_s(0.5) == 1.0);
  CHECK(answer_wait_s(2) == 2.0);
  CHECK(stale_rows_s(0.5) == 10.0);
  CHECK(stale_rows_s(5) == 25.0);
}

TEST_CASE("nodes whose socket paths share a file name get labels told apart by the shortest path suffix") {
  CHECK(node_labels({"/tmp/a/node.sock", "/tmp/b/node.sock"}) == std::vector<std::string>{"a/node", "b/node"});
  CHECK(node_labels({"/x/a/node.sock", "/y/a/node.sock", "/z/c/node.sock"}) ==
        std::vector<std::string>{"x/a/node", "y/a/node", "c/node"});
  // Distinct file names keep the short form, as before; a name, a TCP address as written.
  CHECK(node_labels({"/tmp/a/alpha.sock", "beta", "10.0.0.5:9471"}) ==
        std::vector<std::string>{"alpha", "beta", "10.0.0.5:9471"});
  // A node name and a path ending in that name: the path grows, the name stays.
  CHECK(node_labels({"node", "/tmp/a/node.sock"}) == std::vector<std::string>{"node", "a/node"});
  CHECK(node_labels({"./n.sock", "sub/n.sock"}) == std::vector<std::string>{"n", "sub/n"});
}

TEST_CASE("nodes no path suffix tells apart are numbered after the first") {
  CHECK(node_labels({"n.sock", "n", "./n.sock"}) == std::vector<std::string>{"n", "n#2", "n#3"});
}

namespace {

introspect::warning_row warning(std::uint32_t index, const std::string& kind) {
  introspect::warning_row w;
  w.kind = kind;
  w.id = pid{index, 0};
  w.name = "slow_consumer";
  w.message = "its oldest message waited 6000 ms";
  return w;
}

/// The batch line of `node`'s row for `shown` ("<0.2.0>" or "!<0.2.0>"), empty if none.
std::string row_line_of(const std::string& batch, const std::string& node, const std::string& shown) {
  std::size_t from = 0;
  while (from < batch.size()) {
    const auto to = std::min(batch.find('\n', from), batch.size());
    const std::string line = batch.substr(from, to - from);
    if (line.starts_with(node + " ") && line.find(" " + shown + " ") != std::string::npos) return line;
    from = to + 1;
  }
  return {};
}

}  // namespace

TEST_CASE("each node's warnings mark only its own rows and the WARNINGS line names the node") {
  sample a = node_sample("a", {row(2, 5), row(3, 1)}, 0, 1);
  sample b = node_sample("b", {row(2, 4), row(3, 0)}, 0, 1);
  a.warnings = {warning(2, "old_message")};
  b.warnings = {warning(3, "queue_growing")};
  const std::vector<member_view> members{{"alpha", &a, nullptr, {}}, {"beta", &b, nullptr, {}}};
  const merged_rows m = merge_rows(members, view_state{});
  const fleet_header h = sum_nodes(members, 2);
  REQUIRE(h.sum.warnings.size() == 2);
  CHECK(h.warning_nodes == std::vector<std::string>{"alpha", "beta"});
  render_input in;
  in.now = &h.sum;
  in.row_nodes = &m.node_names;
  in.warning_nodes = &h.warning_nodes;
  const std::string batch = render_batch(in, m.rows, 160);
  CHECK(batch.find("WARNINGS (2): alpha <0.2.0> slow_consumer old_message, beta <0.3.0> slow_consumer queue_growing") !=
        std::string::npos);
  CHECK(!row_line_of(batch, "alpha", "!<0.2.0>").empty());
  CHECK(row_line_of(batch, "beta", "!<0.2.0>").empty());
  CHECK(!row_line_of(batch, "beta", "<0.2.0>").empty());
  CHECK(!row_line_of(batch, "beta", "!<0.3.0>").empty());
  CHECK(!row_line_of(batch, "alpha", "<0.3.0>").empty());
  CHECK(row_line_of(batch, "alpha", "!<0.3.0>").empty());
  CHECK(batch.find("! alpha <0.2.0> slow_consumer old_message: its oldest message waited 6000 ms") != std::string::npos);
  const auto doc = fleet_json(members, m, m.rows.size(), h);
  REQUIRE(doc.at("warnings").size() == 2);
  CHECK(doc["warnings"][0]["node"] == "alpha");
  CHECK(doc["warnings"][1]["node"] == "beta");
  CHECK(doc["warnings"][1]["kind"] == "queue_growing");
}

TEST_CASE("a node that is not answering contributes no warnings to the merged view") {
  sample a = node_sample("a", {row(2, 5)}, 0, 1);
  sample b = node_sample("b", {row(2, 4)}, 0, 1);
  a.warnings = {warning(2, "old_message")};
  b.warnings = {warning(2, "old_message")};
  const std::vector<member_view> members{{"alpha", &a, nullptr, {}}, {"beta", &b, nullptr, {}, 3}};
  const fleet_header h = sum_nodes(members, 2);
  CHECK(h.warning_nodes == std::vector<std::string>{"alpha"});
  CHECK(fleet_json(members, merge_rows(members, view_state{}), 10, h).at("warnings").size() == 1);
}
