#include <doctest/doctest.h>

#include <atomic>
#include <mutex>
#include <vector>

#include "support.hpp"
#include "timer_wheel.hpp"

using namespace agner;
using namespace std::chrono_literals;
using agner::test::eventually;

namespace {

struct collector {
  std::mutex mutex;
  std::vector<int> got;
  std::vector<int> get() {
    std::lock_guard lock(mutex);
    return got;
  }
  pid spawn(runtime& rt) {
    return rt.spawn_fn([this](context&, message& m) {
      if (auto* v = m.get<int>()) {
        std::lock_guard lock(mutex);
        got.push_back(*v);
      }
    });
  }
};

runtime_options with_clock(std::shared_ptr<manual_clock> c) {
  runtime_options o = test::two_schedulers();
  o.clock = std::move(c);
  return o;
}

}  // namespace

TEST_CASE("timers fire in deadline order once time passes, and not before") {
  auto clk = std::make_shared<manual_clock>();
  runtime rt(with_clock(clk));
  collector c;
  pid p = c.spawn(rt);
  rt.send_after(30ms, p, 30);
  rt.send_after(10ms, p, 10);
  rt.send_after(20ms, p, 20);
  rt.send_after(10ms, p, 11);  // same deadline: creation order
  clk->advance(9ms);
  rt.send(p, 0);  // a marker: everything due before it has been sent before it
  CHECK(eventually([&] { return c.get().size() == 1; }));
  CHECK(c.get() == std::vector<int>{0});
  clk->advance(21ms);
  CHECK(eventually([&] { return c.get().size() == 5; }));
  CHECK(c.get() == std::vector<int>{0, 10, 11, 20, 30});
}

TEST_CASE("a cancelled timer never fires") {
  auto clk = std::make_shared<manual_clock>();
  runtime rt(with_clock(clk));
  collector c;
  pid p = c.spawn(rt);
  timer_ref t = rt.send_after(5ms, p, 1);
  rt.send_after(6ms, p, 2);
  CHECK(rt.cancel_timer(t));
  CHECK_FALSE(rt.cancel_timer(t));
  clk->advance(10ms);
  rt.send(p, 3);
  CHECK(eventually([&] { return c.get().size() == 2; }));
  CHECK(c.get() == std::vector<int>{2, 3});
  CHECK_FALSE(rt.cancel_timer(timer_ref{999}));
}

TEST_CASE("a timer whose target has died is dropped, not sent") {
  auto clk = std::make_shared<manual_clock>();
  runtime rt(with_clock(clk));
  pid p = rt.spawn_fn([](context& ctx, message&) { ctx.exit(); });
  rt.send_after(5ms, p, 1);
  rt.send(p, 0);
  CHECK(eventually([&] { return rt.process_count() == 0; }));
  const auto before = rt.messages();
  clk->advance(10ms);
  const auto after = rt.messages();
  CHECK(after.sent == before.sent);
  CHECK(after.dead_letters == before.dead_letters);
}

TEST_CASE("timers fire on the real clock too") {
  runtime rt(test::two_schedulers());
  collector c;
  pid p = c.spawn(rt);
  auto t0 = rt.now();
  rt.send_after(2ms, p, 1);
  CHECK(eventually([&] { return c.get().size() == 1; }));
  CHECK(rt.now() - t0 >= 2ms);  // never early (a lower bound, not a timing assertion)
}

TEST_CASE("the timer wheel keeps timers beyond one rotation until they are due") {
  agner::detail::timer_wheel wheel(0);
  auto entry = [](std::uint64_t id, std::int64_t at) {
    return agner::detail::timer_wheel::entry{id, at, pid{}, make_message<int>(static_cast<int>(id))};
  };
  wheel.add(entry(1, 5000));  // same slot as 5000 - 4 * 1024 = 904
  wheel.add(entry(2, 904));
  wheel.add(entry(3, 100000));
  std::vector<agner::detail::timer_wheel::entry> due;
  wheel.advance(1000, due);
  REQUIRE(due.size() == 1);
  CHECK(due[0].id == 2);
  CHECK(wheel.next_wake().value() <= 5000);
  wheel.advance(4999, due);
  CHECK(due.size() == 1);
  wheel.advance(50000, due);  // a jump of many rotations visits each slot once
  REQUIRE(due.size() == 2);
  CHECK(due[1].id == 1);
  CHECK(wheel.size() == 1);
  for (auto& e : due) destroy(e.msg);
  CHECK(wheel.cancel(3));
  CHECK_FALSE(wheel.next_wake().has_value());
}
