#include <doctest/doctest.h>

#include <atomic>
#include <latch>
#include <map>
#include <mutex>
#include <vector>

#include "agner/runtime/scoped_process.hpp"
#include "support.hpp"

using namespace agner;
using agner::test::eventually;

namespace {

struct stop {
  std::string reason = "normal";
};
struct do_link {
  pid other;
};

/// Links on request, ends on `stop` with its reason, records exit and down messages.
class peer final : public behaviour {
 public:
  struct log {
    std::mutex mutex;
    std::vector<std::string> events;
    void add(std::string e) {
      std::lock_guard lock(mutex);
      events.push_back(std::move(e));
    }
    std::vector<std::string> get() {
      std::lock_guard lock(mutex);
      return events;
    }
  };
  explicit peer(log& l, bool trap = false) : log_(l), trap_(trap) {}
  void init(context& ctx) { ctx.trap_exit(trap_); }
  void handle(context& ctx, message& m) override {
    if (auto* l = m.get<do_link>()) ctx.link(l->other);
    if (auto* s = m.get<stop>()) ctx.exit(s->reason);
    if (auto* e = m.get<exit_message>()) log_.add(fmt::format("EXIT {} {}", e->from, e->reason));
    if (auto* d = m.get<down_message>()) log_.add(fmt::format("DOWN {} {}", d->who, d->reason));
    if (auto* i = m.get<int>()) log_.add(fmt::format("msg {}", *i));
  }

 private:
  log& log_;
  bool trap_;
};

bool alive(runtime& rt, pid p) { return rt.process_info(p).has_value(); }

}  // namespace

TEST_CASE("a linked process dies with its partner's abnormal reason, normal does not propagate") {
  test::captured_log logs;
  runtime_options o = test::two_schedulers();
  o.log = logs.sink();
  runtime rt(o);
  peer::log log;
  pid a = rt.spawn<peer>(log), b = rt.spawn<peer>(log), c = rt.spawn<peer>(log);
  rt.send(a, do_link{b});
  rt.send(b, do_link{c});
  CHECK(eventually([&] { return rt.process_info(a)->messages_received >= 1 && rt.process_info(c)->messages_received >= 1; }));
  rt.send(c, stop{"normal"});
  // Not !alive(c): its pid stops answering before its exit signals go out. Its slot is released
  // after, so from here b's exit signal from c is queued ahead of the next message.
  CHECK(eventually([&] { return rt.process_count() == 2; }));
  rt.send(b, 0);  // b handles this after c's exit signal ...
  CHECK(eventually([&] { return log.get().size() == 1; }));
  CHECK(alive(rt, b));  // ... and is still here: normal does not propagate
  rt.send(b, stop{"disk_full"});
  CHECK(eventually([&] { return rt.process_count() == 0; }));  // a followed b
  auto lines = logs.snapshot();
  CHECK(std::count(lines.begin(), lines.end(), fmt::format("process {} exited: disk_full", a)) == 1);
}

TEST_CASE("a process that traps exits gets exit messages, but kill still kills it") {
  runtime rt(test::two_schedulers());
  peer::log log;
  pid trapper = rt.spawn<peer>(log, true);
  pid victim = rt.spawn<peer>(log);
  pid watcher = rt.spawn<peer>(log, true);
  rt.send(trapper, do_link{victim});
  rt.send(watcher, do_link{trapper});
  // Both links in place (a link signal counts as received) before the victim goes.
  CHECK(eventually([&] {
    return rt.process_info(victim)->messages_received == 1 && rt.process_info(trapper)->messages_received == 2;
  }));
  rt.send(victim, stop{"bad_state"});
  CHECK(eventually([&] { return log.get().size() == 1; }));
  CHECK(log.get()[0] == fmt::format("EXIT {} bad_state", victim));
  CHECK(alive(rt, trapper));
  rt.exit(trapper, "kill");
  CHECK(eventually([&] { return log.get().size() == 2; }));
  CHECK(log.get()[1] == fmt::format("EXIT {} killed", trapper));  // linked processes see "killed"
  CHECK(!alive(rt, trapper));
}

TEST_CASE("an exit signal that is not kill is ignored when normal and trapped otherwise") {
  runtime rt(test::two_schedulers());
  peer::log log;
  pid plain = rt.spawn<peer>(log);
  pid trapper = rt.spawn<peer>(log, true);
  rt.exit(plain, "normal");
  rt.exit(trapper, "shutdown");
  rt.send(plain, 1);
  CHECK(eventually([&] { return log.get().size() == 2; }));
  CHECK(alive(rt, plain));
  CHECK(alive(rt, trapper));
  rt.exit(plain, "shutdown");
  CHECK(eventually([&] { return !alive(rt, plain); }));
}

TEST_CASE("linking to a dead process delivers noproc") {
  runtime rt(test::two_schedulers());
  peer::log log;
  pid gone = rt.spawn<peer>(log);
  rt.send(gone, stop{});
  CHECK(eventually([&] { return !alive(rt, gone); }));
  pid trapper = rt.spawn<peer>(log, true);
  rt.send(trapper, do_link{gone});
  CHECK(eventually([&] { return log.get().size() == 1; }));
  CHECK(log.get()[0] == fmt::format("EXIT {} noproc", gone));
}

TEST_CASE("after unlink no exit signal arrives") {
  runtime rt(test::two_schedulers());
  peer::log log;
  std::latch unlinked(1);
  pid other = rt.spawn<peer>(log);
  pid p = rt.spawn_fn([&](context& ctx, message& m) {
    if (m.is<do_link>()) {
      ctx.link(other);
      ctx.unlink(other);
      unlinked.count_down();
    }
  });
  rt.send(p, do_link{});
  unlinked.wait();
  rt.send(other, stop{"crash"});
  // Its slot is released only after its exit signals went out: any signal to p is queued by now.
  CHECK(eventually([&] { return rt.process_count() == 1; }));
  rt.send(p, 0);
  CHECK(eventually([&] { return !alive(rt, p) || rt.process_info(p)->messages_received >= 2; }));
  REQUIRE(alive(rt, p));
  CHECK(rt.process_info(p)->messages_received == 2);
}

TEST_CASE("spawn_link ties a child to its parent from birth") {
  runtime rt(test::two_schedulers());
  peer::log log;
  struct child final : behaviour {
    void init(context& ctx) { ctx.exit("died_young"); }
    void handle(context&, message&) override {}
  };
  pid parent = rt.spawn_fn([&](context& ctx, message& m) {
    if (m.is<int>()) {
      ctx.trap_exit(true);
      ctx.spawn_link<child>();
    } else if (auto* e = m.get<exit_message>()) {
      log.add(e->reason);
    }
  });
  rt.send(parent, 0);
  CHECK(eventually([&] { return log.get().size() == 1; }));
  CHECK(log.get()[0] == "died_young");
}

TEST_CASE("a monitor delivers exactly one DOWN, at once with noproc for a dead target") {
  using namespace std::chrono_literals;
  runtime rt(test::two_schedulers());
  peer::log log;
  pid target = rt.spawn<peer>(log);
  pid dead = rt.spawn<peer>(log);
  rt.send(dead, stop{});
  CHECK(eventually([&] { return !alive(rt, dead); }));
  scoped_process watcher(rt);
  watcher.monitor(target);
  watcher.monitor(target);  // two monitors, two DOWNs
  watcher.monitor(dead);
  auto first = watcher.receive_as<down_message>(60s);
  REQUIRE(first);
  CHECK(fmt::format("DOWN {} {}", first->who, first->reason) == fmt::format("DOWN {} noproc", dead));
  rt.send(target, stop{"overload"});
  for (int i = 0; i < 2; ++i) {
    auto d = watcher.receive_as<down_message>(60s);
    REQUIRE(d);
    CHECK(fmt::format("DOWN {} {}", d->who, d->reason) == fmt::format("DOWN {} overload", target));
  }
  watcher.send(watcher.self(), 1.5);  // anything after the DOWNs; no further DOWN may follow
  CHECK(watcher.receive_as<double>(60s) == 1.5);
  CHECK(watcher.receive(0ms) == nullptr);
}

TEST_CASE("demonitor drops a DOWN that is already on its way") {
  runtime rt(test::two_schedulers());
  peer::log log;
  pid target = rt.spawn<peer>(log);
  std::atomic<int> downs{0};
  pid watcher = rt.spawn_fn([&](context& ctx, message& m) {
    if (m.is<int>()) {
      monitor_ref ref = ctx.monitor(target);
      ctx.send_exit(target, "kill");
      // Wait (test only) until the target's slot is released, after its DOWN went out: the DOWN is
      // then in our mailbox. Its pid stops answering earlier, before the DOWN is sent.
      while (ctx.node().process_count() > 1) std::this_thread::yield();
      ctx.demonitor(ref);
    } else if (m.is<down_message>()) {
      ++downs;
    }
  });
  rt.send(watcher, 0);
  rt.send(watcher, 1.5);
  CHECK(eventually([&] { return rt.process_info(watcher) && rt.process_info(watcher)->messages_received >= 3; }));
  CHECK(downs.load() == 0);
}

TEST_CASE("an exit signal stays behind the messages its sender sent first") {
  runtime rt(test::two_schedulers());
  peer::log log;
  pid trapper = rt.spawn<peer>(log, true);
  pid plain = rt.spawn<peer>(log);
  std::atomic<long> plain_got{0};
  pid counter = rt.spawn_fn([&](context&, message& m) {
    if (m.is<int>()) ++plain_got;
  });
  rt.spawn_fn([&](context&, message&) {});  // unrelated
  pid sender = rt.spawn_fn([&](context& ctx, message&) {
    for (int i = 0; i < 100; ++i) ctx.send(trapper, i);
    ctx.send_exit(trapper, "done");
    for (int i = 0; i < 100; ++i) ctx.send(counter, i);
    ctx.send_exit(counter, "done");
    ctx.send(counter, 0);  // after the exit signal: never handled
  });
  (void)plain;
  rt.send(sender, 0);
  CHECK(eventually([&] { return log.get().size() == 101; }));
  auto events = log.get();
  for (int i = 0; i < 100; ++i) CHECK(events[static_cast<std::size_t>(i)] == fmt::format("msg {}", i));
  CHECK(events[100] == fmt::format("EXIT {} done", sender));
  CHECK(eventually([&] { return !alive(rt, counter); }));
  // As in Erlang, a process that does not trap exits acts on an exit signal when it arrives: it may
  // die before handling messages queued ahead of the signal, but never handles one sent after it.
  CHECK(plain_got.load() <= 100);
  // Exact once the node is quiet: the dead process's leftovers are counted just after it dies.
  CHECK(eventually([&] { return rt.messages().sent == rt.messages().delivered + rt.messages().dead_letters; }));
}

TEST_CASE("a kill takes effect within one slice, however long the queue in front of it") {
  runtime_options o;
  o.schedulers = 1;
  o.slice_reductions = 100;
  runtime rt(o);
  std::latch entered(1), release(1);
  std::atomic<long> handled{0};
  pid flooded = rt.spawn_fn([&](context&, message& m) {
    if (*m.get<int>() == -1) {
      entered.count_down();
      release.wait();  // holds the only scheduler while the queue fills (test only)
    }
    ++handled;
  });
  rt.send(flooded, -1);
  entered.wait();
  for (int i = 0; i < 10000; ++i) rt.send(flooded, i);
  rt.exit(flooded, "kill");
  release.count_down();
  CHECK(eventually([&] { return rt.process_count() == 0; }));  // released after its queue is counted
  CHECK(handled.load() <= 1 + 100);  // the held message, then at most one slice
  const auto m = rt.messages();
  CHECK(m.dead_letters >= 10000 - 100);
  CHECK(m.sent == m.delivered + m.dead_letters);
}

TEST_CASE("many watchers of many dying processes each get exactly one DOWN per monitor") {
  test::captured_log logs;
  runtime_options o = test::two_schedulers();
  o.log = logs.sink();
  runtime rt(o);
  constexpr int targets = 200, watchers = 20;
  peer::log unused;
  std::vector<pid> ts;
  for (int i = 0; i < targets; ++i) ts.push_back(rt.spawn<peer>(unused));
  std::mutex mutex;
  std::map<std::uint64_t, int> downs_per_ref;
  std::atomic<int> monitors_set{0}, downs{0};
  for (int w = 0; w < watchers; ++w) {
    pid watcher = rt.spawn_fn([&](context& ctx, message& m) {
      if (m.is<int>()) {
        for (pid t : ts) ctx.monitor(t);
        ++monitors_set;
      } else if (auto* d = m.get<down_message>()) {
        std::lock_guard lock(mutex);
        ++downs_per_ref[d->ref.id];
        ++downs;
      }
    });
    rt.send(watcher, 0);
  }
  // Kill while monitors are still being set up: some DOWNs come from exits, some are noproc.
  for (int i = 0; i < targets; ++i) rt.exit(ts[static_cast<std::size_t>(i)], i % 2 ? "kill" : "shutdown");
  CHECK(eventually([&] { return monitors_set.load() == watchers && downs.load() >= targets * watchers; }));
  CHECK(eventually([&] { return rt.process_count() == watchers; }));
  std::lock_guard lock(mutex);
  CHECK(downs.load() == targets * watchers);
  CHECK(downs_per_ref.size() == static_cast<std::size_t>(targets * watchers));
  for (auto& [ref, n] : downs_per_ref) CHECK(n == 1);
}
