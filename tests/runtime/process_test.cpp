#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <latch>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support.hpp"

using namespace agner;
using agner::test::eventually;

namespace {

struct stop {};

/// Counts the ints it gets; exits on `stop`.
class tally final : public behaviour {
 public:
  explicit tally(std::atomic<long>& sum) : sum_(sum) {}
  void handle(context& ctx, message& m) override {
    if (auto* v = m.get<int>()) sum_ += *v;
    if (m.is<stop>()) ctx.exit();
  }

 private:
  std::atomic<long>& sum_;
};

class idle final : public behaviour {
 public:
  void handle(context& ctx, message& m) override {
    if (m.is<stop>()) ctx.exit();
  }
};

}  // namespace

TEST_CASE("a spawned process handles what is sent to its pid and to its registered name") {
  runtime rt(test::two_schedulers());
  std::atomic<long> sum{0};
  pid p = rt.spawn_with<tally>(spawn_options{.name = "tally"}, sum);
  CHECK(rt.whereis("tally") == p);
  rt.send(p, 1);
  CHECK(rt.send("tally", 2));
  CHECK_FALSE(rt.send("nobody", 4));
  CHECK(eventually([&] { return sum.load() == 3; }));
}

TEST_CASE("a handler can spawn a process with options, such as a registered name") {
  runtime rt(test::two_schedulers());
  std::atomic<long> sum{0};
  pid parent = rt.spawn_fn([&](context& ctx, message&) {
    ctx.spawn_with<tally>(spawn_options{.name = "child", .max_len = 1}, sum);
  });
  rt.send(parent, 0);
  CHECK(eventually([&] { return rt.whereis("child").has_value(); }));
  CHECK(rt.send("child", 5));
  CHECK(eventually([&] { return sum.load() == 5; }));
}

TEST_CASE("init runs on a scheduler before the first message") {
  struct starter final : behaviour {
    std::vector<int>& seen;
    explicit starter(std::vector<int>& s) : seen(s) {}
    void init(context&) { seen.push_back(0); }
    void handle(context&, message& m) override { seen.push_back(*m.get<int>()); }
  };
  std::vector<int> seen;
  {
    runtime rt(test::two_schedulers());
    pid p = rt.spawn<starter>(seen);
    rt.send(p, 1);
    CHECK(eventually([&] { return rt.process_info(p)->messages_received == 1; }));
  }  // joined: `seen` is ours again
  CHECK(seen == std::vector<int>{0, 1});
}

TEST_CASE("a process that exits is gone and later sends to it are dead letters") {
  runtime rt(test::two_schedulers());
  pid p = rt.spawn<idle>();
  CHECK(rt.process_count() == 1);
  rt.send(p, stop{});
  CHECK(eventually([&] { return rt.process_count() == 0; }));
  CHECK_FALSE(rt.process_info(p).has_value());
  const auto before = rt.messages();
  rt.send(p, 42);
  const auto after = rt.messages();
  CHECK(after.sent == before.sent + 1);
  CHECK(after.dead_letters == before.dead_letters + 1);
}

TEST_CASE("a crashing handler is logged with pid, name and reason, and nothing else is disturbed") {
  test::captured_log log;
  runtime_options o = test::two_schedulers();
  o.log = log.sink();
  runtime rt(o);
  std::atomic<long> sum{0};
  std::vector<pid> bystanders;
  for (int i = 0; i < 50; ++i) bystanders.push_back(rt.spawn<tally>(sum));
  pid crasher = rt.spawn_fn(
      [](context&, message&) { throw std::runtime_error("boom: bad input"); },
      spawn_options{.name = "crasher"});
  for (pid b : bystanders) rt.send(b, 1);
  rt.send(crasher, 1);
  rt.send(crasher, 2);  // still queued when it dies: a dead letter
  for (pid b : bystanders) rt.send(b, 1);
  CHECK(eventually([&] { return sum.load() == 100 && rt.process_count() == 50; }));
  CHECK_FALSE(rt.whereis("crasher").has_value());  // its name is released
  auto lines = log.snapshot();
  REQUIRE(lines.size() == 1);
  CHECK(lines[0] == fmt::format("process {} (crasher) crashed: boom: bad input", crasher));
  for (pid b : bystanders) CHECK(rt.process_info(b).has_value());
  const auto m = rt.messages();
  CHECK(m.sent == 102);
  CHECK(m.delivered + m.dead_letters == 102);
  CHECK(m.dead_letters == 1);
}

TEST_CASE("an exit with an abnormal reason is logged, a normal one is quiet") {
  test::captured_log log;
  runtime_options o = test::two_schedulers();
  o.log = log.sink();
  runtime rt(o);
  pid quiet = rt.spawn_fn([](context& c, message&) { c.exit(); });
  pid loud = rt.spawn_fn([](context& c, message&) { c.exit("overload"); });
  rt.send(quiet, 0);
  rt.send(loud, 0);
  CHECK(eventually([&] { return rt.process_count() == 0; }));
  auto lines = log.snapshot();
  REQUIRE(lines.size() == 1);
  CHECK(lines[0] == fmt::format("process {} exited: overload", loud));
}

TEST_CASE("spawning past the process limit fails with a clear error until a process exits") {
  runtime_options o = test::two_schedulers();
  o.process_limit = 8;
  runtime rt(o);
  std::vector<pid> pids;
  for (int i = 0; i < 8; ++i) pids.push_back(rt.spawn<idle>());
  try {
    rt.spawn<idle>();
    FAIL("spawn past the limit succeeded");
  } catch (const spawn_error& e) {
    CHECK(e.why() == spawn_error::reason::system_limit);
    CHECK(std::string(e.what()) ==
          "cannot spawn: the process limit of 8 is reached (raise runtime_options::process_limit)");
  }
  CHECK(rt.process_count() == 8);
  rt.send(pids[3], stop{});
  CHECK(eventually([&] { return rt.process_count() == 7; }));
  CHECK(rt.spawn<idle>());
}

TEST_CASE("a registered name belongs to one process at a time") {
  runtime rt(test::two_schedulers());
  pid first = rt.spawn_with<idle>(spawn_options{.name = "svc"});
  try {
    rt.spawn_with<idle>(spawn_options{.name = "svc"});
    FAIL("a second process took a registered name");
  } catch (const spawn_error& e) {
    CHECK(e.why() == spawn_error::reason::name_taken);
    CHECK(std::string(e.what()) ==
          fmt::format("cannot spawn: the name 'svc' is already registered to {}", first));
  }
  CHECK(rt.process_count() == 1);
  rt.send(first, stop{});
  CHECK(eventually([&] { return !rt.whereis("svc"); }));
  pid second = rt.spawn_with<idle>(spawn_options{.name = "svc"});
  CHECK(rt.whereis("svc") == second);
}

TEST_CASE("visit_registered passes every registered name with its pid, as registered copies them") {
  runtime rt(test::two_schedulers());
  const pid a = rt.spawn_with<idle>(spawn_options{.name = "a"});
  const pid b = rt.spawn_with<idle>(spawn_options{.name = "b"});
  rt.spawn<idle>();
  const pid c = rt.spawn_with<idle>(spawn_options{.name = "c"});
  rt.send(a, stop{});  // the first name ends: the registry moves another into its place
  REQUIRE(eventually([&] { return !rt.whereis("a"); }));
  CHECK(rt.whereis("b") == b);
  CHECK(rt.whereis("c") == c);
  std::vector<std::pair<std::string, pid>> seen;
  rt.visit_registered([&](std::string_view name, pid id) { seen.emplace_back(std::string(name), id); });
  auto copied = rt.registered();
  std::sort(seen.begin(), seen.end());
  std::sort(copied.begin(), copied.end());
  CHECK(seen.size() == 2);
  CHECK(seen == copied);
  CHECK(seen.front() == std::pair<std::string, pid>{"b", b});
  CHECK(rt.process_info(c)->registered_name == "c");
  rt.send(c, stop{});
  REQUIRE(eventually([&] { return !rt.whereis("c"); }));
  CHECK(rt.registered() == std::vector<std::pair<std::string, pid>>{{"b", b}});
}

TEST_CASE("bad runtime options are refused with the option's name") {
  runtime_options o;
  o.process_limit = 0;
  CHECK_THROWS_WITH_AS(runtime{o}, "process_limit must be between 1 and 268435456",
                       std::invalid_argument);
  o = {};
  o.slice_reductions = 0;
  CHECK_THROWS_WITH_AS(runtime{o}, "slice_reductions must be at least 1", std::invalid_argument);
}

TEST_CASE("a stale pid never delivers to the process that reused its slot") {
  runtime rt(test::two_schedulers());
  std::atomic<long> sum{0};
  pid old = rt.spawn<tally>(sum);
  rt.send(old, stop{});
  CHECK(eventually([&] { return rt.process_count() == 0; }));
  pid reuser = rt.spawn<tally>(sum);
  REQUIRE(reuser.index == old.index);  // the slot was reused...
  CHECK(reuser.serial != old.serial);  // ...under a new serial
  rt.send(old, 1000);
  rt.send(reuser, 1);
  CHECK(eventually([&] { return sum.load() >= 1; }));
  CHECK(sum.load() == 1);
  CHECK(rt.process_info(reuser)->messages_received == 1);
  CHECK(rt.messages().dead_letters == 1);
}

TEST_CASE("stale sends racing with exits and respawns never reach a newer process") {
  // Each message names the pid it was sent to; a process that receives one naming another pid
  // got a message meant for an earlier owner of its slot.
  struct addressed {
    pid to;
  };
  runtime rt(test::two_schedulers());
  std::atomic<long> misdelivered{0}, delivered{0};
  auto body = [&](context& ctx, message& m) {
    if (auto* a = m.get<addressed>()) {
      if (a->to != ctx.self()) ++misdelivered;
      ++delivered;
    } else {
      ctx.exit();
    }
  };
  constexpr int slots = 16, rounds = 300;
  std::vector<std::atomic<std::uint64_t>> current(slots);
  auto pack = [](pid p) { return (std::uint64_t{p.serial} << 32) | p.index; };
  auto unpack = [](std::uint64_t v) { return pid{static_cast<std::uint32_t>(v), static_cast<std::uint32_t>(v >> 32)}; };
  for (auto& c : current) c = pack(rt.spawn_fn(body));
  std::atomic<bool> done{false};
  std::vector<std::thread> senders;
  for (int t = 0; t < 2; ++t)
    senders.emplace_back([&, t] {
      for (std::uint32_t i = t; !done.load(std::memory_order_relaxed); ++i) {
        pid to = unpack(current[i % slots].load());
        rt.send(to, addressed{to});
      }
    });
  for (int r = 0; r < rounds; ++r)
    for (auto& c : current) {
      rt.send(unpack(c.load()), stop{});
      c = pack(rt.spawn_fn(body));
    }
  done = true;
  for (auto& s : senders) s.join();
  for (auto& c : current) rt.send(unpack(c.load()), stop{});
  CHECK(eventually([&] { return rt.process_count() == 0; }));
  CHECK(misdelivered.load() == 0);
  const auto m = rt.messages();
  CHECK(m.sent == m.delivered + m.dead_letters);
  CHECK(m.delivered == static_cast<std::uint64_t>(delivered.load()) + slots * (rounds + 1));
}
