#include <doctest/doctest.h>

#include <latch>

#include "agner/introspect/queries.hpp"
#include "support.hpp"

using namespace agner;
using namespace agner::introspect;
using agner::test::eventually;

namespace {

/// One scheduler, held by a process blocked in its handler, so messages to every other process
/// stay queued exactly as sent. (Blocking a handler is forbidden in real code.)
struct frozen_node {
  runtime rt{[] {
    runtime_options o;
    o.schedulers = 1;
    return o;
  }()};
  std::latch entered{1}, release{1};
  pid blocker = rt.spawn_fn([this](context&, message&) {
    entered.count_down();
    release.wait();
  });
  frozen_node() {
    rt.send(blocker, 0);
    entered.wait();
  }
  ~frozen_node() { release.count_down(); }
};

}  // namespace

TEST_CASE("top by queue length lists the longest queues first, ties broken by pid") {
  frozen_node node;
  std::vector<pid> pids;
  for (int i = 0; i < 30; ++i) pids.push_back(node.rt.spawn_fn([](context&, message&) {}, spawn_options{.name = i == 7 ? "seven" : ""}));
  for (int i = 0; i < 30; ++i)
    for (int k = 0; k < (i % 10) * 3; ++k) node.rt.send(pids[static_cast<std::size_t>(i)], k);
  auto rows = top(node.rt, sort_key::message_queue_len, 5);
  REQUIRE(rows.size() == 5);
  // Queues of 27 at i = 9, 19, 29; then 24 at i = 8, 18.
  CHECK(rows[0].id == pids[9]);
  CHECK(rows[1].id == pids[19]);
  CHECK(rows[2].id == pids[29]);
  CHECK(rows[3].id == pids[8]);
  CHECK(rows[4].id == pids[18]);
  CHECK(rows[0].message_queue_len == 27);
  CHECK(rows[3].message_queue_len == 24);
  auto all = top(node.rt, sort_key::message_queue_len, 100);
  CHECK(all.size() == 31);  // every live process, the blocker included
  auto seven = std::find_if(all.begin(), all.end(), [&](const process_row& r) { return r.id == pids[7]; });
  REQUIRE(seven != all.end());
  CHECK(seven->registered_name == "seven");
  CHECK(seven->status == process_status::runnable);
  CHECK(top(node.rt, sort_key::message_queue_len, 0).empty());
}

TEST_CASE("top by reductions follows the work each process did") {
  runtime rt(test::two_schedulers());
  std::vector<pid> pids;
  std::atomic<int> handled{0};
  for (int i = 0; i < 5; ++i) pids.push_back(rt.spawn_fn([&](context&, message&) { ++handled; }));
  int total = 0;
  for (int i = 0; i < 5; ++i)
    for (int k = 0; k < i * 10; ++k, ++total) rt.send(pids[static_cast<std::size_t>(i)], k);
  CHECK(eventually([&] { return handled.load() == total; }));
  auto rows = top(rt, sort_key::reductions, 2);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].id == pids[4]);
  CHECK(rows[0].reductions == 40);
  CHECK(rows[1].id == pids[3]);
}

TEST_CASE("top by memory finds the process holding the most queued bytes") {
  struct blob {
    char data[4096];
  };
  frozen_node node;
  pid light = node.rt.spawn_fn([](context&, message&) {});
  pid heavy = node.rt.spawn_fn([](context&, message&) {});
  for (int i = 0; i < 100; ++i) node.rt.send(light, i);
  for (int i = 0; i < 10; ++i) node.rt.send(heavy, blob{});
  auto rows = top(node.rt, sort_key::memory, 1);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].id == heavy);
  CHECK(rows[0].memory_bytes >= 10 * sizeof(blob));
  CHECK(node.rt.process_info(heavy)->memory == rows[0].memory_bytes);
}

TEST_CASE("a reductions window ranks by the work done since the previous look") {
  runtime rt(test::two_schedulers());
  std::atomic<int> handled{0};
  pid a = rt.spawn_fn([&](context&, message&) { ++handled; });
  pid b = rt.spawn_fn([&](context&, message&) { ++handled; });
  for (int i = 0; i < 100; ++i) rt.send(a, i);  // a did more in total...
  CHECK(eventually([&] { return handled.load() == 100; }));
  reductions_window window;
  auto first = window.top(rt, 2);
  REQUIRE(first.size() == 2);
  CHECK(first[0].id == a);  // a process first seen counts all its reductions
  CHECK(first[0].reductions_in_window == 100);
  for (int i = 0; i < 5; ++i) rt.send(a, i);
  for (int i = 0; i < 50; ++i) rt.send(b, i);  // ...but b did more since
  CHECK(eventually([&] { return handled.load() == 155; }));
  auto second = window.top(rt, 2);
  REQUIRE(second.size() == 2);
  CHECK(second[0].id == b);
  CHECK(second[0].reductions_in_window == 50);
  CHECK(second[0].reductions == 50);
  CHECK(second[1].id == a);
  CHECK(second[1].reductions_in_window == 5);
  CHECK(second[1].reductions == 105);
  auto quiet = window.top(rt, 1);
  CHECK(quiet[0].reductions_in_window == 0);
}

TEST_CASE("system info sums the schedulers and counts processes") {
  frozen_node node;
  pid p = node.rt.spawn_fn([](context&, message&) {});
  for (int i = 0; i < 4; ++i) node.rt.send(p, i);
  auto info = system_info(node.rt);
  CHECK(info.process_count == 2);
  CHECK(info.process_limit == node.rt.process_limit());
  CHECK(info.schedulers.size() == 1);
  CHECK(info.run_queue_total == 1);  // p waits its turn behind the blocker
  CHECK(info.messages.sent == 5);
}

TEST_CASE("system info's uptime is the runtime's, on the runtime's clock") {
  auto clk = std::make_shared<manual_clock>();
  runtime_options o;
  o.schedulers = 1;
  o.clock = clk;
  runtime rt(o);
  CHECK(system_info(rt).uptime_ns == 0);
  clk->advance(std::chrono::seconds(5));
  CHECK(rt.uptime() == std::chrono::seconds(5));
  CHECK(system_info(rt).uptime_ns == 5'000'000'000ull);
}

namespace {
struct slow_job {};
class busy_worker final : public behaviour {
 public:
  busy_worker(std::latch& entered, std::latch& release) : entered_(entered), release_(release) {}
  void handle(context&, message& m) override {
    if (m.is<slow_job>()) {
      entered_.count_down();
      release_.wait();
    }
  }

 private:
  std::latch& entered_;
  std::latch& release_;
};
}  // namespace

TEST_CASE("top rows name each process's behaviour, and a running one's current handler") {
  runtime rt(test::two_schedulers());
  std::latch entered(1), release(1);
  pid busy = rt.spawn<busy_worker>(entered, release);
  rt.send(busy, slow_job{});
  entered.wait();
  auto rows = top(rt, sort_key::reductions, 5);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].behaviour.find("busy_worker") != std::string::npos);
  CHECK(rows[0].status == process_status::running);
  CHECK(rows[0].current_handler.find("slow_job") != std::string::npos);
  auto info = system_info(rt);
  CHECK(std::count_if(info.schedulers.begin(), info.schedulers.end(), [&](auto& s) { return s.running == busy; }) == 1);
  release.count_down();
  CHECK(eventually([&] { return top(rt, sort_key::reductions, 5)[0].current_handler.empty(); }));
}

TEST_CASE("a name filter keeps processes whose registered name or behaviour type contains the text") {
  runtime rt(test::two_schedulers());
  std::latch entered(1), release(1);
  pid busy = rt.spawn<busy_worker>(entered, release);
  pid named = rt.spawn_fn([](context&, message&) {}, spawn_options{.name = "order_router"});
  for (int i = 0; i < 5; ++i) rt.spawn_fn([](context&, message&) {});
  name_filter by_name("router");
  auto rows = top(rt, sort_key::memory, 10, by_name);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].id == named);
  name_filter by_behaviour("busy_worker");
  rows = top(rt, sort_key::memory, 10, by_behaviour);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].id == busy);
  name_filter none("no such thing");
  CHECK(top(rt, sort_key::memory, 10, none).empty());
  CHECK(top(rt, sort_key::memory, 10).size() == 7);
  (void)entered;
  release.count_down();
}
