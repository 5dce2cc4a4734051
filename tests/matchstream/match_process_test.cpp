// The match process before its start: created for a watcher's start (watcher.cpp), it is nothing a
// reader or another watcher can see until that start is applied (docs/matchstream.md, "Processes").
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <string>

#include "../runtime/support.hpp"
#include "agner/exporter/metrics.hpp"
#include "agner/runtime/runtime.hpp"
#include "match_process.hpp"
#include "store.hpp"

using namespace std::chrono_literals;
using nlohmann::json;

namespace {

/// Match "m", started (elp against tig, first period) with 4 events stored before.
agner::pid spawn_started(agner::runtime& rt, matchstream::service& s) {
  matchstream::match_status started;
  started.started = true;
  started.home = "elp";
  started.visit = "tig";
  started.period = "first";
  return rt.spawn_with<matchstream::match_process>(agner::spawn_options{.name = "match:m"}, &s, std::string("m"), started,
                                                   std::int64_t{4});
}

}  // namespace

TEST_CASE("a match created for a start is off the board and refuses events and subscribers until the start") {
  agner::exporter::metrics m;
  matchstream::service s(m);
  agner::runtime rt(agner::test::two_schedulers());
  auto match = rt.spawn_with<matchstream::match_process>(agner::spawn_options{.name = "match:m"}, &s, std::string("m"),
                                                         matchstream::match_status{}, std::int64_t{0});
  // Another watcher's goal, sent before the start that created the match: as if it did not exist.
  auto goal = rt.call(match, matchstream::register_event{json{{"kind", "goal"}, {"team", "elp"}}}, 60s);
  REQUIRE(goal.ok());
  REQUIRE(goal.get<matchstream::event_result>());
  CHECK(goal.get<matchstream::event_result>()->error == "unknown match m (send a start event first)");
  CHECK_FALSE(s.live.get("m"));
  // A client subscribing now is refused as for an unknown match, and is not subscribed.
  std::atomic<bool> refused{false}, got_block{false};
  auto client = rt.spawn_fn([&](agner::context&, agner::message& msg) {
    if (auto* r = msg.get<matchstream::refused>(); r && r->why == "unknown match m" && r->reason == "unknown_match")
      refused = true;
    if (msg.is<matchstream::block>()) got_block = true;
  });
  rt.send(match, matchstream::subscribe{client, client});
  CHECK(agner::test::eventually([&] { return refused.load(); }));
  CHECK_FALSE(s.live.get("m"));
  // The start makes it a match: event 1, on the board, with no subscriber from before.
  auto start = rt.call(match, matchstream::register_event{json{{"kind", "start"}, {"home", "elp"}, {"visit", "tig"}}}, 60s);
  REQUIRE(start.get<matchstream::event_result>());
  CHECK(start.get<matchstream::event_result>()->error.empty());
  CHECK(start.get<matchstream::event_result>()->seq == 1);
  auto listed = s.live.get("m");
  REQUIRE(listed);
  CHECK(listed->seq == 1);
  CHECK(listed->home == "elp");
  CHECK(listed->subscribers == 0);
  CHECK_FALSE(got_block.load());
}

TEST_CASE("an event the store cannot take is refused before it is applied, so no client sees it") {
  agner::exporter::metrics m;
  matchstream::service s(m);
  auto db = matchstream::database::open(":memory:");
  s.db = db.get();  // a database, but no process registered as "store" (as between its crash and restart)
  agner::runtime rt(agner::test::two_schedulers());
  auto match = spawn_started(rt, s);
  std::atomic<int> blocks{0}, blocks_before_unsubscribed{-1};
  auto client = rt.spawn_fn([&](agner::context&, agner::message& msg) {
    if (msg.is<matchstream::block>()) ++blocks;
    if (msg.is<matchstream::unsubscribed>()) blocks_before_unsubscribed = blocks.load();
  });
  rt.send(match, matchstream::subscribe{client, client});
  CHECK(agner::test::eventually([&] { return blocks.load() == 1; }));  // the status
  for (const char* kind : {"goal", "end"}) {
    CAPTURE(kind);
    auto r = rt.call(match, matchstream::register_event{json{{"kind", kind}, {"team", "elp"}}}, 60s);
    REQUIRE(r.get<matchstream::event_result>());
    CHECK(r.get<matchstream::event_result>()->error == "not stored: the store is not running");
  }
  auto listed = s.live.get("m");
  REQUIRE(listed);
  CHECK(listed->seq == 4);
  CHECK(listed->home_score == 0);
  CHECK_FALSE(listed->ended);
  // The match answers an unsubscribe after every block it sent before: only the status was.
  rt.send(match, matchstream::unsubscribe{client});
  CHECK(agner::test::eventually([&] { return blocks_before_unsubscribed.load() >= 0; }));
  CHECK(blocks_before_unsubscribed.load() == 1);
}

TEST_CASE("a store that stops with an event queued makes its watcher hear 'not stored' at once, for a goal and an end") {
  agner::exporter::metrics m;
  matchstream::service s(m);
  auto db = matchstream::database::open(":memory:");
  s.db = db.get();
  agner::runtime rt(agner::test::two_schedulers());
  auto match = spawn_started(rt, s);
  for (const char* kind : {"goal", "end"}) {
    CAPTURE(kind);
    // A store that takes the write and dies before it answers, as a crash in the middle of a batch.
    std::atomic<int> writes{0};
    rt.spawn_fn(
        [&](agner::context& ctx, agner::message& msg) {
          if (msg.is<agner::request<matchstream::store_write>>()) {
            ++writes;
            ctx.exit("disk_on_fire");
          }
        },
        agner::spawn_options{.name = "store"});
    // The match's own request is 30 s: an answer that names the stop is the monitor's, not a timeout.
    auto r = rt.call(match, matchstream::register_event{json{{"kind", kind}, {"team", "elp"}}}, 60s);
    REQUIRE(r.get<matchstream::event_result>());
    CHECK(r.get<matchstream::event_result>()->error == "not stored: the store stopped (disk_on_fire)");
    CHECK(writes.load() == 1);
    CHECK(agner::test::eventually([&] { return !rt.whereis("store"); }));
  }
  // The end was applied (its watcher heard why it was not stored) and the match has ended.
  CHECK(agner::test::eventually([&] { return !rt.whereis("match:m"); }));
}
