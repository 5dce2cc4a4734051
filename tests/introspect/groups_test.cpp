// The `groups` request over real sockets, and the rules that name a group.
#include <doctest/doctest.h>

#include <algorithm>
#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it

#include "agner/introspect/groups.hpp"
#include "attach_support.hpp"

using namespace agner;
using namespace agner::introspect;
using namespace agner::test;
using nlohmann::json;

namespace {

class sink final : public behaviour {
 public:
  void handle(context&, message&) override {}
};

/// A node with 5 `user_sup_N`, 3 `match:...` and 10 unnamed `sink` processes beside attached_node's
/// `worker`; user_sup_1 holds 4 queued messages and user_sup_2 holds 2 (both suspended).
struct grouped_node : attached_node {
  std::vector<pid> user_sups;
  explicit grouped_node(server_limits limits = {}) : attached_node(limits) {
    for (int i = 1; i <= 5; ++i) user_sups.push_back(rt.spawn_with<sink>(spawn_options{.name = fmt::format("user_sup_{}", i)}));
    for (const char* m : {"match:elp-2011", "match:mci-2012", "match:ars-2013"}) rt.spawn_with<sink>(spawn_options{.name = m});
    for (int i = 0; i < 10; ++i) rt.spawn<sink>();
    for (int i : {0, 1}) {
      rt.suspend(user_sups[i]);
      REQUIRE(eventually([&] { return rt.process_info(user_sups[i])->status == process_status::suspended; }));
    }
    for (int q = 0; q < 4; ++q) rt.send(user_sups[0], q);
    for (int q = 0; q < 2; ++q) rt.send(user_sups[1], q);
  }
};

const group_row* find(const groups_result& r, const std::string& name) {
  for (auto& g : r.groups)
    if (g.group == name) return &g;
  return nullptr;
}

groups_result groups(client& c, const std::string& sort, int n) {
  return groups_result_from_json(c.call({{"op", "groups"}, {"sort", sort}, {"n", n}}));
}

}  // namespace

TEST_CASE("a numbered name groups under its prefix, a colon name under the part before the colon") {
  CHECK(name_group("user_sup_3") == "user_sup_*");
  CHECK(name_group("user_sup_12345") == "user_sup_*");
  CHECK(name_group("match:elp-2011") == "match:*");
  CHECK(name_group("match:user_sup_3") == "match:*");  // the colon rule comes first
  CHECK(name_group("ledger") == "ledger");
  CHECK(name_group("worker3") == "worker3");        // digits without '_' are part of the name
  CHECK(name_group("user_sup_") == "user_sup_");    // no digits after the '_'
  CHECK(name_group("_7") == "_7");                  // nothing before the '_'
  CHECK(name_group(":x") == ":x");                  // nothing before the ':'
  CHECK(short_type("agner::node::(anonymous namespace)::slow_consumer") == "slow_consumer");
  CHECK(short_type("agner::fn_behaviour<main::{lambda()#1}>") == "fn_behaviour<…>");
  CHECK(group_of("user_sup_3", &typeid(sink)) == "user_sup_*");
  CHECK(group_of("", &typeid(sink)) == "sink");
}

TEST_CASE("groups over the wire add up to the process count, sum queues and keep the longest") {
  grouped_node node;
  auto c = node.unix_client("viewer");  // a viewer may ask: it reveals no message contents
  const auto r = groups(c, "msgq", 1000);
  CHECK(r.processes == node.rt.process_count());
  std::uint64_t sum = 0;
  for (auto& g : r.groups) sum += g.processes;
  CHECK(sum == r.processes);
  CHECK(r.total_groups == r.groups.size());
  CHECK_FALSE(r.groups_capped);
  REQUIRE(find(r, "user_sup_*"));
  REQUIRE(find(r, "match:*"));
  REQUIRE(find(r, "sink"));
  REQUIRE(find(r, "worker"));
  CHECK(find(r, "user_sup_*")->processes == 5);
  CHECK(find(r, "match:*")->processes == 3);
  CHECK(find(r, "sink")->processes == 10);
  CHECK(find(r, "worker")->processes == 1);
  // Sorted by queued messages: user_sup_* first, 4 + 2 queued, the longest queue 4.
  CHECK(r.groups.front().group == "user_sup_*");
  CHECK(r.groups.front().message_queue_len == 6);
  CHECK(r.groups.front().max_message_queue_len == 4);
  CHECK(find(r, "user_sup_*")->memory_bytes > 0);
}

TEST_CASE("groups are sorted by the key asked for, ties by name, and bounded by n") {
  grouped_node node;
  auto c = node.unix_client();
  for (const char* sort : {"processes", "msgq", "max_msgq", "memory", "reductions", "gc"}) {
    CAPTURE(sort);
    const auto r = groups(c, sort, 1000);
    const auto key = [&](const group_row& g) -> std::uint64_t {
      const std::string s = sort;
      if (s == "processes") return g.processes;
      if (s == "msgq") return g.message_queue_len;
      if (s == "max_msgq") return g.max_message_queue_len;
      if (s == "memory") return g.memory_bytes;
      if (s == "reductions") return g.reductions_in_window;
      return g.gc_runs;
    };
    for (std::size_t i = 1; i < r.groups.size(); ++i) {
      const auto& a = r.groups[i - 1];
      const auto& b = r.groups[i];
      CHECK((key(a) > key(b) || (key(a) == key(b) && a.group < b.group)));
    }
  }
  const auto by_count = groups(c, "processes", 1000);
  CHECK(by_count.groups.front().group == "sink");
  const auto by_name = groups(c, "group", 1000);
  CHECK(std::is_sorted(by_name.groups.begin(), by_name.groups.end(),
                       [](const group_row& a, const group_row& b) { return a.group < b.group; }));
  const auto two = groups(c, "processes", 2);
  REQUIRE(two.groups.size() == 2);
  CHECK(two.total_groups > 2);
  CHECK(two.processes == node.rt.process_count());  // totals count every group, kept or not
  CHECK(two.groups[0].group == "sink");
  CHECK(two.groups[1].group == "user_sup_*");
}

TEST_CASE("groups name every registered process after some names end and others are registered") {
  grouped_node node;
  auto c = node.unix_client();
  // Ending user_sup_1 and user_sup_2 moves later names into their registry places: the registry's
  // order no longer follows the slots.
  for (int i : {0, 1}) {
    node.rt.resume(node.user_sups[i]);
    node.rt.exit(node.user_sups[i], "kill");
  }
  REQUIRE(eventually([&] { return !node.rt.whereis("user_sup_1") && !node.rt.whereis("user_sup_2"); }));
  node.rt.spawn_with<sink>(spawn_options{.name = "ledger"});
  node.rt.spawn_with<sink>(spawn_options{.name = "user_sup_9"});
  const auto r = groups(c, "group", 1000);
  CHECK(find(r, "user_sup_*")->processes == 4);
  CHECK(find(r, "ledger")->processes == 1);
  CHECK(find(r, "match:*")->processes == 3);
  CHECK(find(r, "sink")->processes == 10);
  std::uint64_t sum = 0;
  for (auto& g : r.groups) sum += g.processes;
  CHECK(sum == r.processes);
}

TEST_CASE("groups count reductions over the window since the session's previous call") {
  grouped_node node;
  auto c = node.unix_client();
  const auto first = groups(c, "reductions", 1000);
  CHECK(first.window_ms == 0);
  node.rt.resume(node.user_sups[0]);  // it handles its 4 queued messages: 4 reductions
  REQUIRE(eventually([&] { return node.rt.process_info(node.user_sups[0])->message_queue_len == 0; }));
  const auto second = groups(c, "reductions", 1000);
  REQUIRE(!second.groups.empty());
  CHECK(second.groups.front().group == "user_sup_*");
  CHECK(second.groups.front().reductions_in_window >= 4);
  CHECK(find(second, "match:*")->reductions_in_window == 0);
  CHECK(second.groups.front().message_queue_len == 2);  // user_sup_2 still holds its 2
  // Nothing ran since: the window is empty (idle slots are left as they were, not rewritten).
  CHECK(find(groups(c, "reductions", 1000), "user_sup_*")->reductions_in_window == 0);
  node.rt.resume(node.user_sups[1]);  // its 2, counted from the last call that saw it change
  REQUIRE(eventually([&] { return node.rt.process_info(node.user_sups[1])->message_queue_len == 0; }));
  const auto fourth = groups(c, "reductions", 1000);
  CHECK(find(fourth, "user_sup_*")->reductions_in_window >= 2);
  CHECK(find(fourth, "user_sup_*")->reductions_in_window < 4);
}

TEST_CASE("top with a group lists that group's processes only") {
  grouped_node node;
  auto c = node.unix_client();
  auto rows = c.call({{"op", "top"}, {"group", "user_sup_*"}, {"n", 1000}}).at("processes");
  CHECK(rows.size() == 5);
  for (auto& r : rows) CHECK(r.at("registered_name").get<std::string>().starts_with("user_sup_"));
  CHECK(rows[0].at("message_queue_len") == 4);
  auto sinks = c.call({{"op", "top"}, {"group", "sink"}, {"n", 1000}}).at("processes");
  CHECK(sinks.size() == 10);  // the named sinks belong to their names' groups
  auto filtered = c.call({{"op", "top"}, {"group", "match:*"}, {"filter", "elp"}, {"n", 1000}}).at("processes");
  CHECK(filtered.size() == 1);
  CHECK(c.call({{"op", "top"}, {"group", "no_such_group"}}).at("processes").empty());
}

TEST_CASE("groups refuses a bad sort, n out of range and fields of the wrong type, naming the field") {
  grouped_node node;
  auto c = node.unix_client();
  auto refused = [&](json req) -> std::string {
    try {
      c.call(std::move(req));
    } catch (const client_error& e) {
      CHECK(e.code() == "bad_request");
      return e.what();
    }
    return "accepted";
  };
  CHECK(refused({{"op", "groups"}, {"sort", "bogus"}}) ==
        "unknown sort 'bogus' (group, processes, msgq, max_msgq, memory, reductions, gc)");
  CHECK(refused({{"op", "groups"}, {"n", 0}}) == "n must be an integer between 1 and 1000");
  CHECK(refused({{"op", "groups"}, {"n", 1001}}) == "n must be an integer between 1 and 1000");
  CHECK(refused({{"op", "groups"}, {"n", "3"}}) == "n must be an integer between 1 and 1000");
  CHECK(refused({{"op", "groups"}, {"sort", 3}}).find("sort") != std::string::npos);
  CHECK(refused({{"op", "top"}, {"group", std::string(300, 'x')}}).find("group") != std::string::npos);
  CHECK(groups(c, "msgq", 1).groups.size() == 1);  // the session goes on
}

TEST_CASE("a session keeping a groups window counts once against the reductions window limit") {
  server_limits limits;
  limits.max_windowed_sessions = 1;
  grouped_node node(limits);
  auto a = node.unix_client();
  auto b = node.unix_client();
  CHECK(groups(a, "msgq", 5).groups.size() == 4);
  CHECK(a.top("reductions_window", 3).size() == 3);  // the same session: no second slot
  CHECK_THROWS_WITH_AS(groups(b, "msgq", 5), "too many sessions keep a reductions window (limit 1)", client_error);
  CHECK_THROWS_WITH_AS(b.top("reductions_window", 3), "too many sessions keep a reductions window (limit 1)",
                       client_error);
}

TEST_CASE("past 4096 distinct groups the rest are summed in (other) and the counts still add up") {
  runtime rt(two_schedulers());
  for (std::size_t i = 0; i < max_groups + 10; ++i) rt.spawn_with<sink>(spawn_options{.name = fmt::format("n{}", i)});
  group_window w;
  const auto r = w.groups(rt, group_sort::processes, 1000);
  CHECK(r.groups_capped);
  CHECK(r.processes == rt.process_count());
  CHECK(r.total_groups == max_groups + 1);  // 4096 kept apart, and (other)
  REQUIRE(!r.groups.empty());
  CHECK(r.groups.front().group == "(other)");
  CHECK(r.groups.front().processes == 10);
  CHECK(r.groups.size() == 1000);  // n still bounds the reply
}
