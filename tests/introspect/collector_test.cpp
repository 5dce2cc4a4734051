// The node's snapshot per tick (collector.hpp): what a tick collects, what readers share between
// ticks, the table scan's jitter and the options it refuses.
#include <doctest/doctest.h>

#include <set>

#include "agner/introspect/collector.hpp"
#include "support.hpp"

using namespace agner;
using namespace agner::introspect;

TEST_CASE("a collector publishes one snapshot per tick and hands out that same instance until the next") {
  runtime rt(test::two_schedulers());
  for (int i = 0; i < 3; ++i) rt.spawn_fn([](context&, message&) {}, spawn_options{.name = i == 0 ? "ledger" : ""});
  collector c(rt, {.processes = {"ledger", "absent"}});
  const auto first = c.latest();
  REQUIRE(first);
  CHECK(first->generation == 1);
  CHECK(first->node.process_count == 3);
  CHECK(first->table.processes == 3);  // the first snapshot scans the table
  REQUIRE(first->named.size() == 1);   // a name nobody holds is left out
  CHECK(first->named[0].first == "ledger");
  for (int i = 0; i < 4; ++i) rt.spawn_fn([](context&, message&) {});
  REQUIRE(rt.process_count() == 7);
  // Between ticks every reader sees the last tick's figures, whatever the runtime did since.
  CHECK(c.latest() == first);
  CHECK(c.latest()->node.process_count == 3);
  const auto second = c.tick();
  CHECK(c.latest() == second);
  CHECK(second->generation == 2);
  CHECK(second->node.process_count == 7);
  // The first tick after the constructor's scans again (a node's processes start after its collector),
  CHECK(second->table.processes == 7);
  // then the table is scanned every scan_every (5 s by default), not on every tick: its summary stays.
  rt.spawn_fn([](context&, message&) {});
  const auto third = c.tick();
  CHECK(third->node.process_count == 8);
  CHECK(third->table == second->table);
}

TEST_CASE("a collector with a tick of its own publishes new generations on its thread") {
  runtime rt(test::two_schedulers());
  collector c(rt, {.tick = std::chrono::milliseconds(10), .scan_every = std::chrono::milliseconds(10), .processes = {}});
  rt.spawn_fn([](context&, message&) {});
  CHECK(test::eventually([&] {
    auto s = c.latest();
    return s->generation > 2 && s->node.process_count == 1 && s->table.processes == 1;
  }));
}

TEST_CASE("a collector refuses too many or repeated names and a scan interval that is not positive") {
  runtime rt(test::two_schedulers());
  CHECK_THROWS_WITH_AS(collector(rt, {.processes = std::vector<std::string>(51, "x")}), doctest::Contains("at most 50 names"),
                       std::runtime_error);
  CHECK_THROWS_WITH_AS(collector(rt, {.processes = {"ledger", "ledger"}}), doctest::Contains("\"ledger\" twice"), std::runtime_error);
  CHECK_THROWS_WITH_AS(collector(rt, {.scan_every = std::chrono::milliseconds(0), .processes = {}}), doctest::Contains("scan interval must be positive"),
                       std::runtime_error);
  CHECK_THROWS_WITH_AS(collector(rt, {.tick = std::chrono::milliseconds(-1), .scan_every = std::chrono::milliseconds(5000), .processes = {}}), doctest::Contains("tick must not be negative"),
                       std::runtime_error);
}

TEST_CASE("the table scan interval is jittered between 0.8 and 1.2 times the setting") {
  const std::chrono::milliseconds every(5000);
  std::set<long> seen;
  for (std::uint64_t seed = 0; seed < 1000; ++seed) {
    const auto w = jittered(every, seed).count();
    CHECK(w >= 4000);
    CHECK(w <= 6000);
    seen.insert(w);
  }
  CHECK(seen.size() > 500);  // not a handful of values: the phase keeps moving
  CHECK(*seen.begin() < 4200);
  CHECK(*seen.rbegin() > 5800);
  CHECK(jittered(std::chrono::milliseconds(0), 7).count() == 0);
}
