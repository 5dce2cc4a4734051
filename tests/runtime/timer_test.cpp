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
  using agner::detail::timer_node;
  agner::detail::timer_wheel wheel(0);
  std::vector<timer_node> nodes(5);
  const std::int64_t at[] = {5000, 904, 100000, 3'000'000, 2'000'000};  // ms, block, overflow levels
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    nodes[i].deadline_ms = at[i];
    nodes[i].seq = i;
    wheel.add(&nodes[i]);
  }
  std::vector<std::int64_t> due;
  auto advance = [&](std::int64_t now) {
    wheel.advance(
        now, [&](timer_node* n) { due.push_back(n->deadline_ms); },
        [](timer_node* n) { return n->seq != 4; },  // the last one was cancelled
        [&](timer_node* n) { CHECK(n->seq == 4); });
  };
  CHECK(wheel.next_wake().value() <= 904);
  advance(1000);
  CHECK(due == std::vector<std::int64_t>{904});
  CHECK(wheel.next_wake().value() <= 5000);
  advance(4999);
  CHECK(due.size() == 1);
  advance(5000);
  CHECK(due == std::vector<std::int64_t>{904, 5000});
  advance(2'999'999);  // a jump over many blocks and two overflow cascades
  CHECK(due == std::vector<std::int64_t>{904, 5000, 100000});
  CHECK(wheel.size() == 1);  // the cancelled one was dropped on its way down
  CHECK(wheel.next_wake().value() <= 3'000'000);
  advance(3'000'000);
  CHECK(due.back() == 3'000'000);
  CHECK_FALSE(wheel.next_wake().has_value());
}

namespace {
struct start_many {};

/// Parks `parked` long timers (more than a young ring holds), starts and at once cancels `count`
/// more, starts `kept` that fire, then cancels the parked ones; once the kept ones have fired, one
/// more: a sentinel due after every cancelled one but the parked would have been. Each cancel
/// comes long before its timer's deadline (seconds of slack, not a race with the clock).
class canceller final : public behaviour {
 public:
  struct result {
    std::atomic<int> kept_fired{0}, cancelled_fired{0}, cancel_failures{0};
    std::atomic<bool> sentinel{false};
  };
  canceller(int parked, int count, int kept, result& r) : parked_(parked), count_(count), kept_(kept), r_(r) {}
  void handle(context& ctx, message& m) override {
    auto& rt = ctx.node();
    if (m.is<start_many>()) {
      std::vector<timer_ref> parked;
      for (int i = 0; i < parked_; ++i) parked.push_back(rt.send_after(60s, ctx.self(), -1));
      for (int i = 0; i < count_; ++i)
        if (!rt.cancel_timer(rt.send_after(1s, ctx.self(), -1))) r_.cancel_failures++;
      for (int i = 0; i < kept_; ++i) rt.send_after(1s, ctx.self(), i);
      for (timer_ref t : parked)
        if (!rt.cancel_timer(t)) r_.cancel_failures++;
      for (timer_ref t : parked)  // a second cancel finds nothing to cancel
        if (rt.cancel_timer(t)) r_.cancel_failures++;
    } else if (auto* v = m.get<int>()) {
      if (*v == -1) {
        r_.cancelled_fired++;
      } else if (*v == -2) {
        r_.sentinel = true;
      } else if (++r_.kept_fired == kept_) {
        rt.send_after(200ms, ctx.self(), -2);
      }
    }
  }

 private:
  int parked_, count_, kept_;
  result& r_;
};
}  // namespace

TEST_CASE("long timers cancelled from handlers never fire, and the ones left fire once") {
  runtime rt(test::two_schedulers());
  constexpr int processes = 4, parked = 5000, count = 10000, kept = 10;
  std::vector<std::unique_ptr<canceller::result>> results;
  for (int i = 0; i < processes; ++i) {
    results.push_back(std::make_unique<canceller::result>());
    rt.send(rt.spawn<canceller>(parked, count, kept, *results.back()), start_many{});
  }
  for (auto& r : results) {
    CHECK(eventually([&] { return r->sentinel.load(); }));
    CHECK(r->kept_fired == kept);
    CHECK(r->cancelled_fired == 0);
    CHECK(r->cancel_failures == 0);
  }
}

TEST_CASE("a forged or stale timer reference cancels nothing") {
  auto clk = std::make_shared<manual_clock>();
  runtime rt(with_clock(clk));
  collector c;
  pid p = c.spawn(rt);
  timer_ref fired = rt.send_after(1ms, p, 1);
  clk->advance(1ms);
  CHECK(eventually([&] { return c.get().size() == 1; }));
  timer_ref live = rt.send_after(5ms, p, 2);  // may reuse the fired timer's node
  CHECK_FALSE(rt.cancel_timer(fired));
  CHECK_FALSE(rt.cancel_timer(timer_ref{live.id + 1}));
  CHECK_FALSE(rt.cancel_timer(timer_ref{live.id & 0xffffffffu}));  // generation 0 is never issued
  CHECK_FALSE(rt.cancel_timer(timer_ref{~std::uint64_t{0}}));
  clk->advance(5ms);
  CHECK(eventually([&] { return c.get().size() == 2; }));
}
