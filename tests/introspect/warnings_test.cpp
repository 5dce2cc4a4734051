// The warning monitor: each warning raised by a real workload, then cleared. Time is injected
// (sample and watch_schedulers take the clock); the workloads are real processes.
#include <doctest/doctest.h>

#include <atomic>
#include <string>

#include "agner/introspect/queries.hpp"
#include "agner/introspect/warnings.hpp"
#include "agner/runtime/supervisor.hpp"
#include "support.hpp"

using namespace agner;
using namespace agner::introspect;
using agner::test::eventually;

namespace {

struct job {
  int n = 0;
};
struct grow {
  std::size_t bytes = 0;
};
struct crash {};

/// A copy: the rows are a temporary.
std::optional<warning_row> find(const std::vector<warning_row>& rows, std::string_view kind, pid who) {
  for (auto& r : rows)
    if (r.kind == kind && r.id == who) return r;
  return std::nullopt;
}

/// Suspends `p` and waits until it is suspended, so what is sent next stays queued.
void suspend_now(runtime& rt, pid p) {
  REQUIRE(rt.suspend(p));
  REQUIRE(eventually([&] { return rt.process_info(p)->status == process_status::suspended; }));
}

class hoarder final : public behaviour {
 public:
  void handle(context&, message& m) override {
    if (auto* g = m.get<grow>()) kept_.resize(kept_.size() + g->bytes);
  }
  std::size_t state_bytes() const { return kept_.size(); }

 private:
  std::vector<char> kept_;
};

class crashes_when_asked final : public behaviour {
 public:
  void handle(context&, message& m) override {
    if (m.is<crash>()) throw std::runtime_error("asked to crash");
  }
};

}  // namespace

TEST_CASE("a queue that grew in each of the last K samples is a warning until it stops growing") {
  runtime rt(test::two_schedulers());
  warning_thresholds t;
  t.queue_growth_samples = 2;
  t.queue_growth_min = 100;
  warning_monitor m(t);
  pid slow = rt.spawn_fn([](context&, message&) {}, {.name = "slow"});
  suspend_now(rt, slow);
  std::int64_t now = 1'000'000;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 60; ++i) rt.send(slow, job{i});
    m.sample(rt, now += 1000);
  }
  auto w = find(m.current(), "queue_growing", slow);
  REQUIRE(w != std::nullopt);
  CHECK(w->name == "slow");
  CHECK(w->value == 180);
  CHECK(w->threshold == 100);
  CHECK(w->message == "its queue grew in each of the last 2 samples: 60 to 180 messages");
  m.sample(rt, now += 1000);  // no growth
  CHECK(find(m.current(), "queue_growing", slow) == std::nullopt);
  rt.resume(slow);
}

TEST_CASE("an old queued message is a warning until the queue drains") {
  runtime rt(test::two_schedulers());
  warning_thresholds t;
  t.old_message_ms = 30;
  warning_monitor m(t);
  pid stuck = rt.spawn_fn([](context&, message&) {});
  suspend_now(rt, stuck);
  rt.send(stuck, job{1});
  std::int64_t now = 1'000'000;
  REQUIRE(eventually([&] {
    m.sample(rt, now += 100);
    return find(m.current(), "old_message", stuck) != std::nullopt;
  }));
  auto w = find(m.current(), "old_message", stuck);
  CHECK(w->value >= 30);
  CHECK(w->threshold == 30);
  rt.resume(stuck);
  REQUIRE(eventually([&] { return rt.process_info(stuck)->message_queue_len == 0; }));
  m.sample(rt, now += 100);
  CHECK(find(m.current(), "old_message", stuck) == std::nullopt);
}

TEST_CASE("a handler that holds its scheduler past the threshold is a never_yielded warning with its message type") {
  runtime rt(test::two_schedulers());
  warning_thresholds t;
  t.long_handler_ms = 1000;
  t.long_handler_keep_ms = 5000;
  warning_monitor m(t);
  std::atomic<bool> release{false}, started{false};
  pid busy = rt.spawn_fn(
      [&](context&, message&) {
        started = true;
        // A deliberately long handler, bounded by the test's deadline.
        const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        while (!release && std::chrono::steady_clock::now() < end) std::this_thread::yield();
      },
      {.name = "busy"});
  rt.send(busy, job{7});
  REQUIRE(eventually([&] { return started.load(); }));
  const std::int64_t t0 = 1'000'000;
  m.watch_schedulers(rt, t0);
  m.watch_schedulers(rt, t0 + 400);
  CHECK(find(m.current(), "never_yielded", busy) == std::nullopt);  // not yet past 1000 ms
  m.watch_schedulers(rt, t0 + 1500);
  auto w = find(m.current(), "never_yielded", busy);
  REQUIRE(w != std::nullopt);
  CHECK(w->name == "busy");
  CHECK(w->value == 1500);
  CHECK(w->handler.find("job") != std::string::npos);
  CHECK(w->message.find("still runs") != std::string::npos);
  release = true;
  REQUIRE(eventually([&] { return rt.process_info(busy)->status == process_status::waiting; }));
  m.watch_schedulers(rt, t0 + 2000);
  w = find(m.current(), "never_yielded", busy);
  REQUIRE(w != std::nullopt);  // kept for long_handler_keep_ms after it returned
  CHECK(w->message.find("returned") != std::string::npos);
  m.watch_schedulers(rt, t0 + 2000 + 5001);
  CHECK(find(m.current(), "never_yielded", busy) == std::nullopt);
}

TEST_CASE("a supervisor that used its restart intensity is a warning until its period passes") {
  auto clk = std::make_shared<manual_clock>();  // the supervisor's window runs on the node's clock
  runtime_options o = test::two_schedulers();
  o.clock = clk;
  runtime rt(o);
  warning_thresholds t;
  t.restart_intensity_percent = 50;
  warning_monitor m(t);
  auto crasher = child_spec::worker<crashes_when_asked>("crasher");
  supervisor_flags flags{restart_strategy::one_for_one, 2, std::chrono::milliseconds(60000)};
  pid sup = rt.spawn_with<supervisor>({.name = "sup"}, flags, std::vector<child_spec>{crasher});
  std::int64_t now = 1'000'000;
  // Read inside the wait: a report that finds the supervisor busy past its 100 ms has no children.
  pid first;
  REQUIRE(eventually([&] {
    const auto r = supervisor::report(rt, sup, 1, std::chrono::milliseconds(100));
    if (r.children.size() == 1) first = r.children[0].current;
    return static_cast<bool>(first);
  }));
  m.sample(rt, now += 10);
  CHECK(find(m.current(), "restart_intensity", sup) == std::nullopt);
  rt.send(first, crash{});
  REQUIRE(eventually([&] {
    m.sample(rt, now += 10);
    return find(m.current(), "restart_intensity", sup) != std::nullopt;
  }));
  auto w = find(m.current(), "restart_intensity", sup);
  CHECK(w->name == "sup");
  CHECK(w->value == 50);  // 1 of 2
  CHECK(w->message.find("1 restarts in the last 60000 ms, of the 2 it allows") == 0);
  clk->advance(std::chrono::milliseconds(60001));  // past the period
  m.sample(rt, now += 10);
  CHECK(find(m.current(), "restart_intensity", sup) == std::nullopt);
}

TEST_CASE("a full bounded mailbox is a mailbox_dropping warning in a sample where the node dropped messages") {
  runtime rt(test::two_schedulers());
  warning_monitor m;
  pid small = rt.spawn_fn([](context&, message&) {}, {.name = "small", .max_len = 10, .overflow = mailbox_overflow::drop_newest});
  suspend_now(rt, small);
  std::int64_t now = 1'000'000;
  m.sample(rt, now += 1000);  // the baseline of the node's drop counter
  for (int i = 0; i < 25; ++i) rt.send(small, job{i});
  m.sample(rt, now += 1000);
  auto w = find(m.current(), "mailbox_dropping", small);
  REQUIRE(w != std::nullopt);
  CHECK(w->value == 15);
  CHECK(w->threshold == 10);
  CHECK(w->name == "small");
  m.sample(rt, now += 1000);  // no new drops
  CHECK(find(m.current(), "mailbox_dropping", small) == std::nullopt);
  rt.resume(small);
}

TEST_CASE("a process that holds more memory after each collection is a memory_growing warning until it stops") {
  runtime rt(test::two_schedulers());
  warning_thresholds t;
  t.memory_growth_collections = 2;
  t.memory_growth_min_bytes = 10000;
  warning_monitor m(t);
  pid hog = rt.spawn_with<hoarder>({.name = "hog"});
  std::int64_t now = 1'000'000;
  auto collect = [&](std::size_t more) {
    const auto before = rt.process_info(hog)->major_gcs;
    rt.send(hog, grow{more});
    REQUIRE(rt.garbage_collect(hog));
    REQUIRE(eventually([&] {
      auto c = rt.process_info(hog);
      return c->major_gcs > before && c->status == process_status::waiting && c->message_queue_len == 0;
    }));
    m.sample(rt, now += 1000);
  };
  m.sample(rt, now += 1000);
  collect(8000);
  collect(8000);
  CHECK(find(m.current(), "memory_growing", hog) == std::nullopt);  // two values so far: one increase
  collect(8000);
  auto w = find(m.current(), "memory_growing", hog);
  REQUIRE(w != std::nullopt);
  CHECK(w->value == 16000);
  CHECK(w->name == "hog");
  collect(0);  // no growth after this collection
  CHECK(find(m.current(), "memory_growing", hog) == std::nullopt);
}

TEST_CASE("warnings are listed by kind then pid and their JSON round-trips") {
  warning_row w{"old_message", pid{5, 1}, "x", "its oldest queued message has waited 9 ms", 9, 5, 1234, ""};
  auto j = to_json(w);
  CHECK(j.dump() ==
        R"({"kind":"old_message","message":"its oldest queued message has waited 9 ms","name":"x","pid":"<0.5.1>","since_ms":1234,"threshold":5,"value":9})");
  auto back = warning_row_from_json(j);
  CHECK(back.id == w.id);
  CHECK(back.value == 9);
  j["value"] = 1.5;
  CHECK_THROWS_AS(warning_row_from_json(j), nlohmann::json::exception);
}
