#include <doctest/doctest.h>

#include <atomic>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "agner/runtime/supervisor.hpp"
#include "support.hpp"

using namespace agner;
using namespace std::chrono_literals;
using agner::test::eventually;

namespace {

struct die {
  std::string reason;
};

/// A child that ends with the reason it is told; optionally ignores "shutdown" (traps exits).
class worker final : public behaviour {
 public:
  worker(std::vector<std::string>* ended = nullptr, std::mutex* mutex = nullptr, std::string id = {},
         bool stubborn = false)
      : ended_(ended), mutex_(mutex), id_(std::move(id)), stubborn_(stubborn) {}
  ~worker() override {
    if (ended_) {
      std::lock_guard lock(*mutex_);
      ended_->push_back(id_);
    }
  }
  void init(context& ctx) { ctx.trap_exit(stubborn_); }
  void handle(context& ctx, message& m) override {
    if (auto* d = m.get<die>()) ctx.exit(d->reason);
  }

 private:
  std::vector<std::string>* ended_;
  std::mutex* mutex_;
  std::string id_;
  bool stubborn_;
};

std::vector<child_info> children_of(runtime& rt, pid sup) {
  reply r = rt.call(sup, which_children{}, 10s);
  REQUIRE(r.ok());
  return *r.get<std::vector<child_info>>();
}

/// A runtime on a manual clock (a name wait never times out unless the test advances it) whose
/// log the test reads. Declared in this order, the log outlives the runtime that writes to it.
struct manual_node {
  std::shared_ptr<manual_clock> clk = std::make_shared<manual_clock>();
  test::captured_log log;
  runtime rt{options(clk, log)};

  static runtime_options options(std::shared_ptr<manual_clock> c, test::captured_log& l) {
    runtime_options o = test::two_schedulers();
    o.clock = std::move(c);
    o.log = l.sink();
    return o;
  }
};

bool all_running(runtime& rt, pid sup, std::size_t n) {
  auto rows = children_of(rt, sup);
  if (rows.size() != n) return false;
  for (auto& c : rows)
    if (!c.current) return false;
  return true;
}

}  // namespace

TEST_CASE("the supervisor matrix: each strategy, child type and exit reason") {
  runtime_options o = test::two_schedulers();
  test::captured_log log;
  o.log = log.sink();
  runtime rt(o);
  for (auto strategy : {restart_strategy::one_for_one, restart_strategy::one_for_all, restart_strategy::rest_for_one})
    for (auto type : {restart_type::permanent, restart_type::transient, restart_type::temporary})
      for (std::string reason : {"normal", "shutdown", "crash"}) {
        CAPTURE(static_cast<int>(strategy));
        CAPTURE(static_cast<int>(type));
        CAPTURE(reason);
        std::vector<child_spec> specs;
        for (const char* id : {"a", "b", "c"}) {
          specs.push_back(child_spec::worker<worker>(id));
          specs.back().restart = std::string(id) == "b" ? type : restart_type::permanent;
        }
        pid sup = rt.spawn<supervisor>(supervisor_flags{strategy, 10, 60s}, specs);
        CHECK(eventually([&] { return all_running(rt, sup, 3); }));
        auto before = children_of(rt, sup);
        rt.send(before[1].current, die{reason});
        const bool restarted = type == restart_type::permanent ||
                               (type == restart_type::transient && reason == "crash");
        std::vector<child_info> after;
        if (restarted) {
          CHECK(eventually([&] {
            after = children_of(rt, sup);
            return after.size() == 3 && after[1].current && after[1].current != before[1].current &&
                   after[0].current && after[2].current;
          }));
          const bool a_new = strategy == restart_strategy::one_for_all;
          const bool c_new = strategy != restart_strategy::one_for_one;
          CHECK((after[0].current != before[0].current) == a_new);
          CHECK((after[2].current != before[2].current) == c_new);
        } else {
          CHECK(eventually([&] {
            after = children_of(rt, sup);
            return type == restart_type::temporary ? after.size() == 2 : !after[1].current;
          }));
          CHECK(after.front().current == before[0].current);
          CHECK(after.back().current == before[2].current);
        }
        CHECK(rt.process_info(sup).has_value());
        rt.exit(sup, "shutdown");
        CHECK(eventually([&] { return rt.process_count() == 0; }));
      }
}

TEST_CASE("MaxR restarts in MaxT are survived, one more shuts the supervisor down") {
  manual_node node;
  auto& clk = node.clk;
  auto& log = node.log;
  runtime& rt = node.rt;
  pid sup = rt.spawn<supervisor>(supervisor_flags{restart_strategy::one_for_one, 3, 10s},
                                 std::vector<child_spec>{child_spec::worker<worker>("w")});
  auto crash_once = [&] {
    pid w = children_of(rt, sup)[0].current;
    rt.send(w, die{"crash"});
    CHECK(eventually([&] {
      if (!rt.process_info(sup)) return true;
      auto rows = children_of(rt, sup);
      return rows[0].current && rows[0].current != w;
    }));
  };
  CHECK(eventually([&] { return all_running(rt, sup, 1); }));
  for (int i = 0; i < 3; ++i) crash_once();
  CHECK(rt.process_info(sup).has_value());
  clk->advance(10001ms);  // the first three fall out of the window
  for (int i = 0; i < 3; ++i) crash_once();
  CHECK(rt.process_info(sup).has_value());
  pid w = children_of(rt, sup)[0].current;
  rt.send(w, die{"crash"});  // the fourth within 10 s
  CHECK(eventually([&] { return rt.process_count() == 0; }));
  auto lines = log.snapshot();
  CHECK(std::count(lines.begin(), lines.end(),
                   fmt::format("supervisor {}: more than 3 restarts in 10000 ms, shutting down", sup)) == 1);
}

TEST_CASE("shutdown stops children in reverse order, killing one that outstays its timeout") {
  auto clk = std::make_shared<manual_clock>();
  std::mutex mutex;  // outlives the runtime: workers write here when they end
  std::vector<std::string> ended;
  runtime_options o = test::two_schedulers();
  o.clock = clk;
  runtime rt(o);
  std::vector<child_spec> specs;
  for (std::string id : {"first", "stubborn", "last"}) {
    child_spec s;
    s.id = id;
    s.start = [&, id](context& ctx) { return ctx.spawn_link<worker>(&ended, &mutex, id, id == "stubborn"); };
    s.shutdown = 500ms;
    specs.push_back(s);
  }
  pid sup = rt.spawn<supervisor>(supervisor_flags{}, specs);
  CHECK(eventually([&] { return all_running(rt, sup, 3); }));
  pid stubborn = children_of(rt, sup)[1].current;
  rt.exit(sup, "shutdown");
  CHECK(eventually([&] {
    std::lock_guard lock(mutex);
    return ended.size() == 1;
  }));
  {
    std::lock_guard lock(mutex);
    CHECK(ended == std::vector<std::string>{"last"});
  }
  // Once the stubborn child has its shutdown signal, its shutdown timer is running.
  CHECK(eventually([&] { return rt.process_info(stubborn)->messages_received >= 1; }));
  clk->advance(499ms);  // the stubborn child traps the shutdown and stays...
  rt.send(stubborn, 0);  // handled after anything the supervisor could have sent it before
  CHECK(eventually([&] { return rt.process_info(stubborn) && rt.process_info(stubborn)->messages_received >= 2; }));
  CHECK(rt.process_info(stubborn).has_value());
  clk->advance(1ms);  // ...until its shutdown time is up
  CHECK(eventually([&] { return rt.process_count() == 0; }));
  std::lock_guard lock(mutex);
  CHECK(ended == std::vector<std::string>{"last", "stubborn", "first"});
}

TEST_CASE("children can be added and removed while the supervisor runs") {
  runtime rt(test::two_schedulers());
  pid sup = rt.spawn_with<supervisor>(spawn_options{.name = "sup"}, supervisor_flags{}, std::vector<child_spec>{});
  reply added = rt.call(sup, start_child{child_spec::worker<worker>("dyn")}, 10s);
  REQUIRE(added.ok());
  REQUIRE(added.get<pid>());
  pid dyn = *added.get<pid>();
  CHECK(rt.process_info(dyn).has_value());
  reply again = rt.call(sup, start_child{child_spec::worker<worker>("dyn")}, 10s);
  REQUIRE(again.get<std::string>());
  CHECK(*again.get<std::string>() == "a child with id 'dyn' already exists");
  reply removed = rt.call(sup, terminate_child{"dyn"}, 10s);
  CHECK(*removed.get<bool>());
  CHECK(eventually([&] { return !rt.process_info(dyn); }));
  CHECK(children_of(rt, sup).empty());
  CHECK_FALSE(*rt.call(sup, terminate_child{"nope"}, 10s).get<bool>());
}

TEST_CASE("a supervisor's bad configuration is refused with the reason") {
  CHECK_THROWS_WITH_AS(supervisor(supervisor_flags{}, {child_spec::worker<worker>("x"), child_spec::worker<worker>("x")}),
                       "child id 'x' is used twice", std::invalid_argument);
  CHECK_THROWS_WITH_AS(supervisor(supervisor_flags{restart_strategy::one_for_one, -1, 5s}, {}),
                       "supervisor intensity must not be negative", std::invalid_argument);
}

TEST_CASE("a supervisor of supervisors restarts a child supervisor with its children") {
  runtime_options o = test::two_schedulers();
  test::captured_log log;
  o.log = log.sink();
  runtime rt(o);
  pid top = rt.spawn<supervisor>(
      supervisor_flags{},
      std::vector<child_spec>{supervisor::child("inner", supervisor_flags{restart_strategy::one_for_one, 0, 5s},
                                                {child_spec::worker<worker>("leaf")})});
  CHECK(eventually([&] { return all_running(rt, top, 1); }));
  pid inner = children_of(rt, top)[0].current;
  CHECK(eventually([&] { return all_running(rt, inner, 1); }));
  pid leaf = children_of(rt, inner)[0].current;
  rt.send(leaf, die{"crash"});  // intensity 0: the inner supervisor gives up, the top one restarts it
  CHECK(eventually([&] {
    auto rows = children_of(rt, top);
    return rows[0].current && rows[0].current != inner;
  }));
  pid inner2 = children_of(rt, top)[0].current;
  CHECK(eventually([&] { return all_running(rt, inner2, 1); }));
  CHECK(eventually([&] { return rt.process_count() == 3; }));  // runtime::call's helper may still be ending
}

namespace {

struct go {};

/// A registered child that traps exits and, told its supervisor ended, ends only when sent `go`:
/// a predecessor still holding its name while its supervisor's successor starts.
class lingerer final : public behaviour {
 public:
  void init(context& ctx) { ctx.trap_exit(true); }
  void handle(context& ctx, message& m) override {
    if (m.get<exit_message>()) told_ = true;
    if (m.get<go>() && told_) ctx.exit("shutdown");
  }

 private:
  bool told_ = false;
};

/// top -> middle -> "leaf" (a lingerer), each start as in a service's tree.
std::vector<child_spec> middle_with_leaf(supervisor_flags middle_flags) {
  child_spec leaf;
  leaf.id = "leaf";
  leaf.start = [](context& ctx) { return ctx.spawn_link_with<lingerer>(spawn_options{.name = "leaf"}); };
  return {supervisor::child("middle", middle_flags, {leaf})};
}

/// The child running under `sup` once it differs from `before` (a restart happened).
pid successor(runtime& rt, pid sup, pid before) {
  pid now;
  CHECK(eventually([&] {
    now = children_of(rt, sup)[0].current;
    return now && now != before;
  }));
  return now;
}

/// Starts top -> middle -> "leaf" and returns (middle, leaf) once both run.
std::pair<pid, pid> started_tree(runtime& rt, pid top) {
  CHECK(eventually([&] { return all_running(rt, top, 1); }));
  pid middle = children_of(rt, top)[0].current;
  CHECK(eventually([&] { return all_running(rt, middle, 1); }));
  return {middle, children_of(rt, middle)[0].current};
}

}  // namespace

TEST_CASE("a restart waits for the predecessor that still holds its child's name") {
  manual_node node;
  auto& log = node.log;
  runtime& rt = node.rt;
  // Intensity 1: the kill below is the one restart it allows; a failed start would be a second.
  const supervisor_flags top_flags{restart_strategy::one_for_one, 1, 10s};
  pid top = rt.spawn<supervisor>(top_flags, middle_with_leaf(supervisor_flags{}));
  const auto [middle, leaf] = started_tree(rt, top);
  const pid old_leaf = leaf;  // a plain variable: lambdas below capture it
  rt.exit(middle, "kill");  // the old leaf hears of it and lingers, holding "leaf"
  pid middle2 = successor(rt, top, middle);
  // middle2 answers after its init, which found "leaf" held and waits.
  CHECK_FALSE(children_of(rt, middle2)[0].current);
  CHECK(rt.whereis("leaf") == old_leaf);
  rt.send(old_leaf, go{});
  CHECK(eventually([&] { return all_running(rt, middle2, 1); }));
  pid new_leaf = children_of(rt, middle2)[0].current;
  CHECK(new_leaf != old_leaf);
  CHECK(rt.whereis("leaf") == new_leaf);
  CHECK(children_of(rt, top)[0].current == middle2);  // no restart was spent on the wait
  CHECK_FALSE(log.contains("failed to start"));
}

TEST_CASE("a start whose name stays held past name_wait fails, naming the holder") {
  manual_node node;
  auto& clk = node.clk;
  auto& log = node.log;
  runtime& rt = node.rt;
  const supervisor_flags top_flags{restart_strategy::one_for_one, 5, 10s};
  pid top = rt.spawn<supervisor>(
      top_flags, middle_with_leaf(supervisor_flags{.intensity = 1, .period = 5s, .name_wait = 100ms}));
  const auto [middle, leaf] = started_tree(rt, top);
  const pid old_leaf = leaf;  // a plain variable: lambdas below capture it
  rt.exit(middle, "kill");
  pid middle2 = successor(rt, top, middle);
  // The wait's timer is armed once middle2 answers (it handles messages in order).
  CHECK_FALSE(children_of(rt, middle2)[0].current);
  clk->advance(100ms);
  CHECK(eventually([&] {
    return log.contains(fmt::format("child 'leaf' failed to start: its name is still held by {} after 100 ms", old_leaf));
  }));
  pid middle3 = successor(rt, top, middle2);  // the init failed; top restarted middle again
  rt.send(old_leaf, go{});
  CHECK(eventually([&] { return all_running(rt, middle3, 1) && rt.whereis("leaf") != old_leaf; }));
}

TEST_CASE("a start_child request that waited for a failed name wait is not answered with a child") {
  manual_node node;
  auto& clk = node.clk;
  auto& log = node.log;
  runtime& rt = node.rt;
  const pid holder = rt.spawn_with<lingerer>(spawn_options{.name = "leaf"});  // holds "leaf" for good
  child_spec leaf;
  leaf.id = "leaf";
  leaf.start = [](context& ctx) { return ctx.spawn_link_with<lingerer>(spawn_options{.name = "leaf"}); };
  pid sup = rt.spawn<supervisor>(supervisor_flags{.name_wait = 100ms}, std::vector<child_spec>{leaf});
  CHECK_FALSE(children_of(rt, sup)[0].current);  // its init waits for the holder
  const std::uint64_t handled = rt.process_info(sup)->messages_received;
  std::atomic<bool> answered{false};
  std::optional<reply> got;
  std::thread asker([&] {
    got = rt.call(sup, start_child{child_spec::worker<worker>("extra")}, 1h);
    answered = true;
  });
  // The request is deferred while the start waits.
  CHECK(eventually([&] { return rt.process_info(sup)->messages_received > handled; }));
  CHECK_FALSE(answered.load());
  clk->advance(100ms);  // the wait fails: the init fails and the supervisor ends
  CHECK(eventually([&] { return log.contains(fmt::format("its name is still held by {} after 100 ms", holder)); }));
  CHECK(eventually([&] { return !rt.process_info(sup); }));
  clk->advance(2h);  // the call, if left unanswered, times out
  asker.join();
  REQUIRE(got);
  CHECK(got->get<pid>() == nullptr);  // no child of a supervisor that is gone
  REQUIRE(got->get<std::string>());
  CHECK(*got->get<std::string>() == fmt::format("supervisor {} is shutting down", sup));
}

// The default name_wait (1 s) is under the default period / intensity (5 s / 1): a failed wait
// comes within the window of the restart before it, so the parent escalates.
TEST_CASE("a name held for good ends in the intensity escalation, not a restart every name_wait") {
  manual_node node;
  auto& clk = node.clk;
  auto& log = node.log;
  runtime& rt = node.rt;
  pid top = rt.spawn<supervisor>(supervisor_flags{}, middle_with_leaf(supervisor_flags{}));
  auto [middle, leaf] = started_tree(rt, top);
  rt.exit(middle, "kill");  // the old leaf lingers and holds "leaf" for good
  auto failures = [&] {
    std::size_t n = 0;
    for (auto& l : log.snapshot()) n += l.find("its name is still held") != std::string::npos ? 1 : 0;
    return n;
  };
  for (std::size_t round = 1; round <= 4 && rt.process_info(top); ++round) {
    middle = successor(rt, top, middle);
    CHECK_FALSE(children_of(rt, middle)[0].current);  // its init waits: the timer is armed
    clk->advance(1001ms);
    CHECK(eventually([&] { return failures() == round || !rt.process_info(top); }));
  }
  CHECK_FALSE(rt.process_info(top));  // OTP: the second failed start in 5 s ends the top supervisor
}
