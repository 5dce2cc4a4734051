#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <latch>
#include <mutex>
#include <set>
#include <string>

#include "support.hpp"

using namespace agner;
using agner::test::eventually;

namespace {

/// Counts ints; says how many in its state description.
class tally final : public behaviour {
 public:
  explicit tally(std::atomic<int>& seen) : seen_(seen) {}
  void handle(context&, message& m) override {
    if (m.is<int>()) seen_.fetch_add(1);
  }
  std::string describe() const { return fmt::format("seen {}", seen_.load()); }

 private:
  std::atomic<int>& seen_;
};

/// Blocks runtime::inspect's caller until the report comes (tests only: a real reader uses a deadline).
process_report inspect_now(runtime& rt, pid p, inspect_options o = {}) {
  std::promise<process_report> answer;
  auto f = answer.get_future();
  REQUIRE(rt.inspect(p, o, [&](process_report r) { answer.set_value(std::move(r)); }));
  return f.get();
}

}  // namespace

TEST_CASE("a suspended process keeps its messages queued, still answers inspect and dies to kill") {
  runtime rt(test::two_schedulers());
  std::atomic<int> seen{0};
  pid p = rt.spawn<tally>(seen);
  rt.send(p, 1);
  REQUIRE(eventually([&] { return seen.load() == 1; }));
  CHECK(rt.suspend(p));
  for (int i = 0; i < 5; ++i) rt.send(p, 10 + i);
  REQUIRE(eventually([&] { return rt.process_info(p)->status == process_status::suspended; }));
  auto r = inspect_now(rt, p, {.max_messages = 3, .max_bytes = 4096, .contents = true});
  CHECK(r.suspended);
  CHECK(r.state == "seen 1");
  REQUIRE(r.queue.size() == 3);  // bounded by count
  CHECK(r.queue[0].type == "int");
  CHECK(r.queue[0].text == "10");
  CHECK(r.queue[2].text == "12");
  CHECK(seen.load() == 1);
  CHECK(eventually([&] { return rt.process_info(p)->message_queue_len == 5; }));  // the inspect request counts until absorbed
  CHECK(rt.resume(p));
  REQUIRE(eventually([&] { return seen.load() == 6; }));
  CHECK(rt.suspend(p));
  rt.exit(p, "kill");
  REQUIRE(eventually([&] { return !rt.process_info(p); }));
  CHECK_FALSE(rt.suspend(p));
  CHECK_FALSE(rt.inspect(p, {}, [](process_report) {}));
}

TEST_CASE("a queued-message listing is bounded by bytes, and payloads are shown only when asked for") {
  runtime rt(test::two_schedulers());
  std::atomic<int> seen{0};
  pid p = rt.spawn<tally>(seen);
  rt.suspend(p);
  rt.send(p, std::string(100, 'a'));
  rt.send(p, std::string(100, 'b'));
  rt.send(p, 7);
  REQUIRE(eventually([&] { return rt.process_info(p)->status == process_status::suspended; }));
  auto bounded = inspect_now(rt, p, {.max_messages = 10, .max_bytes = 150, .contents = true});
  REQUIRE(bounded.queue.size() == 2);  // the second string fills the budget; the int is left out
  CHECK(bounded.queue[0].text == std::string(100, 'a'));
  CHECK(bounded.queue[1].text == std::string(50, 'b'));
  CHECK(bounded.queue_listed_bytes == 150);
  auto names_only = inspect_now(rt, p, {.max_messages = 10, .max_bytes = 150, .contents = false});
  REQUIRE(names_only.queue.size() == 3);
  CHECK(names_only.queue[0].type.find("basic_string") != std::string::npos);
  CHECK(names_only.queue[0].text.empty());
  CHECK(names_only.queue[2].bytes == 32);  // 24-byte header + an int, rounded to 8
}

namespace {
class idle final : public behaviour {
 public:
  void handle(context&, message&) override {}
};
/// Spawns a linked child on its first message and hands out its pid.
class parent_of final : public behaviour {
 public:
  explicit parent_of(std::promise<pid>& child) : child_(child) {}
  void handle(context& ctx, message&) override { child_.set_value(ctx.spawn_link<idle>()); }

 private:
  std::promise<pid>& child_;
};
/// Monitors `target` in init, then says so.
class watcher final : public behaviour {
 public:
  watcher(pid target, std::latch& done) : target_(target), done_(done) {}
  void init(context& ctx) {
    ctx.monitor(target_);
    done_.count_down();
  }
  void handle(context&, message&) override {}

 private:
  pid target_;
  std::latch& done_;
};
}  // namespace

TEST_CASE("a report lists links, monitors and the parent that spawn_linked the process") {
  runtime rt(test::two_schedulers());
  std::promise<pid> child_pid;
  pid parent = rt.spawn<parent_of>(child_pid);
  rt.send(parent, 0);
  pid child = child_pid.get_future().get();
  std::latch monitoring(1);
  pid w = rt.spawn<watcher>(child, monitoring);
  monitoring.wait();  // its monitor signal was pushed before our inspect request
  auto r = inspect_now(rt, child);
  CHECK(r.parent == parent);
  REQUIRE(r.links.size() == 1);
  CHECK(r.links[0] == parent);
  REQUIRE(r.monitored_by.size() == 1);
  CHECK(r.monitored_by[0] == w);
  CHECK(r.behaviour.find("idle") != std::string::npos);
  CHECK(r.state.empty());  // idle has no describe()
  auto wr = inspect_now(rt, w);
  REQUIRE(wr.monitors.size() == 1);
  CHECK(wr.monitors[0] == child);
  CHECK_FALSE(wr.parent);
}

TEST_CASE("a process busy in a handler answers inspect only once the handler returns") {
  runtime rt(test::two_schedulers());
  std::latch entered(1), release(1);
  pid p = rt.spawn_fn([&](context&, message& m) {
    if (m.is<int>()) {
      entered.count_down();
      release.wait();
    }
  });
  rt.send(p, 1);
  entered.wait();
  std::atomic<bool> answered{false};
  REQUIRE(rt.inspect(p, {}, [&](process_report) { answered = true; }));
  CHECK_FALSE(answered.load());  // it cannot: its only scheduler thread is inside the handler
  CHECK(rt.process_info(p)->status == process_status::running);
  release.count_down();
  CHECK(eventually([&] { return answered.load(); }));
}

TEST_CASE("the oldest queued message's age grows while a process is suspended and is 0 once drained") {
  runtime rt(test::two_schedulers());
  std::atomic<int> seen{0};
  pid p = rt.spawn<tally>(seen);
  rt.suspend(p);
  rt.send(p, 1);
  REQUIRE(eventually([&] { return rt.process_info(p)->status == process_status::suspended; }));
  CHECK(eventually([&] { return rt.process_info(p)->oldest_message_age_ms >= 20; }));
  const auto earlier = rt.process_info(p)->oldest_message_age_ms;
  CHECK(rt.process_info(p)->oldest_message_age_ms >= earlier);
  std::uint64_t scanned = 0;
  rt.scan([&](const process_sample& s) {
    if (s.id == p) scanned = s.oldest_message_age_ms;
  });
  CHECK(scanned >= earlier);
  rt.resume(p);
  REQUIRE(eventually([&] { return seen.load() == 1; }));
  CHECK(eventually([&] { return rt.process_info(p)->oldest_message_age_ms == 0; }));
}

TEST_CASE("the queue watch reports a long queue when it is queued to, and a short one when the owner drains it") {
  runtime rt(test::two_schedulers());
  std::mutex mutex;
  std::vector<queue_event> events;
  // Length events and age events apart: an age event comes from the wall clock (this thread preempted
  // for 30 ms between two sends, on a loaded machine), so the length checks must not count them.
  auto seen = [&](std::initializer_list<queue_event::kind> kinds) {
    std::lock_guard lock(mutex);
    std::vector<queue_event> out;
    for (auto& e : events)
      if (std::find(kinds.begin(), kinds.end(), e.what) != kinds.end()) out.push_back(e);
    return out;
  };
  auto lengths = [&] { return seen({queue_event::kind::long_queue, queue_event::kind::short_again}); };
  auto ages = [&] { return seen({queue_event::kind::old_message, queue_event::kind::young_again}); };
  rt.watch_queues([&](const queue_event& e) {
    std::lock_guard lock(mutex);
    events.push_back(e);
  });
  rt.set_queue_watch(10, 2, 30, 5);
  std::atomic<int> handled{0};
  pid p = rt.spawn<tally>(handled);
  rt.suspend(p);
  REQUIRE(eventually([&] { return rt.process_info(p)->status == process_status::suspended; }));
  for (int i = 0; i < 9; ++i) rt.send(p, i);
  CHECK(lengths().empty());
  rt.send(p, 9);  // the tenth: long
  REQUIRE(lengths().size() == 1);
  CHECK(lengths()[0].who == p);
  CHECK(lengths()[0].what == queue_event::kind::long_queue);
  CHECK(lengths()[0].value == 10);
  for (int i = 0; i < 20; ++i) rt.send(p, i);
  CHECK(lengths().size() == 1);  // once, until it is short again
  // Old: a send finds the oldest message 30 ms old (or found it already, if this thread was preempted).
  REQUIRE(eventually([&] { return rt.process_info(p)->oldest_message_age_ms >= 30; }));
  rt.send(p, 0);
  REQUIRE(ages().size() == 1);  // once, until it is young again
  CHECK(ages()[0].what == queue_event::kind::old_message);
  CHECK(ages()[0].value >= 30);
  rt.resume(p);
  REQUIRE(eventually([&] { return lengths().size() == 2 && ages().size() == 2; }));
  CHECK(lengths()[1].what == queue_event::kind::short_again);
  CHECK(ages()[1].what == queue_event::kind::young_again);
  // A process that ends while flagged is reported short again.
  rt.suspend(p);
  for (int i = 0; i < 10; ++i) rt.send(p, i);
  REQUIRE(eventually([&] { return lengths().size() == 3; }));
  rt.exit(p, "kill");
  REQUIRE(eventually([&] { return lengths().size() == 4; }));
  CHECK(lengths()[3].what == queue_event::kind::short_again);
  CHECK(lengths()[3].value == 0);
}

TEST_CASE("the queue watch's notify cannot be replaced while a threshold is set") {
  runtime rt(test::two_schedulers());
  CHECK_THROWS_AS(rt.set_queue_watch(10, 2, 0, 0), std::logic_error);  // no notify yet
  std::atomic<int> calls{0};
  rt.watch_queues([&](const queue_event&) { ++calls; });
  rt.set_queue_watch(10, 2, 0, 0);
  // Senders may be inside the notify it would replace.
  CHECK_THROWS_AS(rt.watch_queues([](const queue_event&) {}), std::logic_error);
  rt.set_queue_watch(0, 0, 0, 0);
  CHECK_NOTHROW(rt.watch_queues([](const queue_event&) {}));
}

TEST_CASE("a process that ended lately is known by its exit reason, one still alive has none") {
  runtime rt(test::two_schedulers());
  std::atomic<int> seen{0};
  pid alive = rt.spawn<tally>(seen);
  pid killed = rt.spawn<tally>(seen);
  pid told = rt.spawn<tally>(seen);
  CHECK_FALSE(rt.exit_reason(alive));
  rt.exit(killed, "kill");
  rt.exit(told, std::string(300, 'x'));
  REQUIRE(eventually([&] { return !rt.process_info(killed) && !rt.process_info(told); }));
  CHECK(rt.exit_reason(killed) == "killed");
  CHECK(rt.exit_reason(told) == std::string(256, 'x'));  // cut at 256 bytes
  CHECK_FALSE(rt.exit_reason(alive));
  CHECK_FALSE(rt.exit_reason(pid{}));
  // Only the last 1,024 exits are kept: after 1,024 more, the first is forgotten.
  for (int i = 0; i < 1024; ++i) rt.exit(rt.spawn<tally>(seen), "kill");
  REQUIRE(eventually([&] { return rt.process_count() == 1; }));
  CHECK_FALSE(rt.exit_reason(killed));
}

TEST_CASE("unhandled messages are counted per process and node-wide, and the first of each type is logged") {
  agner::test::captured_log log;
  runtime_options o = agner::test::two_schedulers();
  o.log = log.sink();
  runtime rt(o);
  std::atomic<int> handled{0};
  pid p = rt.spawn_fn([&](context& ctx, message& m) {
    if (m.is<int>()) {
      handled.fetch_add(1);
    } else {
      ctx.unhandled(m);
    }
  });
  for (int i = 0; i < 3; ++i) rt.send(p, std::string("stray"));
  rt.send(p, 2.5);
  rt.send(p, 1);
  CHECK(eventually([&] { return handled.load() == 1; }));
  CHECK(inspect_now(rt, p).unhandled_messages == 4);
  CHECK(rt.messages().unhandled == 4);  // node-wide too: agner_messages_unhandled_total
  auto lines = log.snapshot();
  auto mentions = [&](std::string_view what) {
    return std::count_if(lines.begin(), lines.end(), [&](const std::string& l) {
      return l.find("unhandled message") != std::string::npos && l.find(what) != std::string::npos;
    });
  };
  CHECK(mentions("stray") == 1);
  CHECK(mentions("double: 2.5") == 1);
  CHECK(lines.size() == 2);
}
