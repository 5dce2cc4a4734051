#include <doctest/doctest.h>

#include <atomic>
#include <latch>
#include <thread>
#include <vector>

#include "support.hpp"

using namespace agner;
using agner::test::eventually;

namespace {

void check_identity(runtime& rt) {
  const auto m = rt.messages();
  CHECK(m.sent == m.delivered + m.shed + m.dropped + m.dead_letters);
}

}  // namespace

TEST_CASE("stopping a runtime discards every queued message as a dead letter and the identity holds") {
  runtime rt(test::two_schedulers());
  std::atomic<int> handled{0};
  std::vector<pid> pids;
  for (int i = 0; i < 100; ++i) pids.push_back(rt.spawn_fn([&](context&, message&) { handled.fetch_add(1); }));
  for (pid p : pids) REQUIRE(rt.suspend(p));
  for (pid p : pids) CHECK(eventually([&] { return rt.process_info(p)->status == process_status::suspended; }));
  for (int round = 0; round < 1000; ++round)
    for (pid p : pids) rt.send(p, round);
  const auto before = rt.messages();
  const auto summary = rt.stop();
  CHECK(summary.processes == 100);
  CHECK(summary.dead_letters == 100'000);
  CHECK(handled.load() == 0);
  const auto after = rt.messages();
  CHECK(after.dead_letters == before.dead_letters + 100'000);
  CHECK(rt.process_count() == 0);
  check_identity(rt);
}

TEST_CASE("a stop lets a running handler finish but does not drain the queue behind it") {
  runtime_options o = test::two_schedulers();
  o.slice_reductions = 100;
  runtime rt(o);
  std::latch entered(1), release(1);
  std::atomic<int> handled{0};
  pid p = rt.spawn_fn([&](context&, message& m) {
    if (m.get<int>() && *m.get<int>() == 0) {
      entered.count_down();
      release.wait();
    }
    handled.fetch_add(1);
  });
  rt.send(p, 0);
  entered.wait();
  for (int i = 1; i <= 10'000; ++i) rt.send(p, i);
  runtime::stop_summary summary;
  std::thread stopper([&] { summary = rt.stop(); });
  // Once spawns are refused the stop has begun; only then does the handler return.
  CHECK(eventually([&] {
    try {
      rt.spawn_fn([](context&, message&) {});
      return false;
    } catch (const spawn_error& e) {
      return e.why() == spawn_error::reason::stopped;
    }
  }));
  release.count_down();
  stopper.join();
  CHECK(handled.load() <= 1 + 100);  // the rest of its slice at most
  CHECK(summary.dead_letters >= 10'000 - 100);
  check_identity(rt);
}

TEST_CASE("after a stop, spawns are refused with a reason, sends are dead letters, and a second stop does nothing") {
  runtime rt(test::two_schedulers());
  pid p = rt.spawn_fn([](context&, message&) {});
  rt.stop();
  try {
    rt.spawn_fn([](context&, message&) {});
    FAIL("spawn after stop should throw");
  } catch (const spawn_error& e) {
    CHECK(e.why() == spawn_error::reason::stopped);
    CHECK(std::string(e.what()).find("stopp") != std::string::npos);
  }
  const auto dead = rt.messages().dead_letters;
  rt.send(p, 1);
  CHECK(rt.messages().dead_letters == dead + 1);
  const auto again = rt.stop();
  CHECK(again.processes == 0);
  CHECK(again.dead_letters == 0);
  check_identity(rt);
}
