// co_await ctx.call: gen_server:call inside a coroutine handler.
#include <doctest/doctest.h>

#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "agner/runtime/supervisor.hpp"
#include "support.hpp"

using namespace agner;
using namespace std::chrono_literals;
using agner::test::eventually;

namespace {

struct twice {
  int n;
  using reply_type = int;
};
struct twice_untyped {
  int n;
};
struct answer_now {};

/// Answers twice / twice_untyped with 2n, at once or (holding) when told answer_now.
class doubler final : public behaviour {
 public:
  explicit doubler(bool hold) : hold_(hold) {}
  void handle(context& ctx, message& m) override {
    if (auto* r = m.get<request<twice>>()) {
      if (hold_) {
        held_ = r->from;
        n_ = r->body.n;
      } else {
        ctx.reply(*r, r->body.n * 2);
      }
    } else if (auto* u = m.get<request<twice_untyped>>()) {
      if (hold_) {
        held_ = u->from;
        n_ = u->body.n;
      } else {
        ctx.reply(u->from, u->body.n * 2);
      }
    } else if (m.is<answer_now>() && held_) {
      ctx.reply(*held_, n_ * 2);
    }
  }

 private:
  bool hold_;
  std::optional<reply_to> held_;
  int n_ = 0;
};

struct lines {
  std::mutex mutex;
  std::vector<std::string> v;
  void add(std::string s) {
    std::lock_guard lock(mutex);
    v.push_back(std::move(s));
  }
  std::vector<std::string> get() {
    std::lock_guard lock(mutex);
    return v;
  }
};

std::string outcome_name(reply::status s) {
  switch (s) {
    case reply::status::ok: return "ok";
    case reply::status::timeout: return "timeout";
    case reply::status::noproc: return "noproc";
    case reply::status::failed: return "failed";
  }
  return "?";
}

/// Poked with an int n: calls `server` with twice{n} (typed) and logs "ok 2n" or "error TEXT".
/// Any other int arriving while it waits is logged in turn as "msg n" once the call is over.
pid typed_client(runtime& rt, pid server, lines& log, std::chrono::nanoseconds timeout = 60s) {
  return rt.spawn_fn([server, &log, timeout, calls = 0](context& ctx, message& m) mutable -> task {
    const int* n = m.get<int>();
    if (!n) co_return;
    if (calls++ > 0) {
      log.add(fmt::format("msg {}", *n));
      co_return;
    }
    try {
      int v = co_await ctx.call(server, twice{*n}, timeout);
      log.add(fmt::format("ok {} for {}", v, *m.get<int>()));  // the message outlives the wait
    } catch (const call_error& e) {
      log.add(fmt::format("error {}", e.what()));
    }
  });
}

pid untyped_client(runtime& rt, pid server, lines& log, std::chrono::nanoseconds timeout = 60s) {
  return rt.spawn_fn([server, &log, timeout](context& ctx, message& m) -> task {
    const int* n = m.get<int>();
    if (!n) co_return;
    reply r = co_await ctx.call(server, twice_untyped{*n}, timeout);
    log.add(r.ok() ? fmt::format("ok {}", r.as<int>()) : outcome_name(r.outcome()));
  });
}

runtime_options manual(std::shared_ptr<manual_clock>& clk) {
  clk = std::make_shared<manual_clock>();
  runtime_options o = test::two_schedulers();
  o.clock = clk;
  return o;
}

}  // namespace

TEST_CASE("a co_await call yields the answer as the request's reply_type") {
  runtime rt(test::two_schedulers());
  lines log;
  pid server = rt.spawn<doubler>(false);
  rt.send(typed_client(rt, server, log), 21);
  CHECK(eventually([&] { return log.get().size() == 1; }));
  CHECK(log.get()[0] == "ok 42 for 21");
}

TEST_CASE("a co_await call without a reply_type yields the reply itself") {
  runtime rt(test::two_schedulers());
  lines log;
  pid server = rt.spawn<doubler>(false);
  rt.send(untyped_client(rt, server, log), 5);
  CHECK(eventually([&] { return log.get().size() == 1; }));
  CHECK(log.get()[0] == "ok 10");
}

TEST_CASE("an unanswered call times out, and its late answer is dropped and counted") {
  std::shared_ptr<manual_clock> clk;
  runtime rt(manual(clk));
  lines log;
  pid server = rt.spawn<doubler>(true);
  pid client = typed_client(rt, server, log, 100ms);
  rt.send(client, 1);
  CHECK(eventually([&] { return rt.process_info(server)->messages_received >= 2; }));  // monitor + request
  clk->advance(99ms);
  rt.send(client, 7);  // queued behind the call, handled after it
  CHECK(eventually([&] { return rt.process_info(client)->message_queue_len == 1; }));
  CHECK(log.get().empty());
  clk->advance(1ms);
  CHECK(eventually([&] { return log.get().size() == 2; }));
  CHECK(log.get()[0] == fmt::format("error call to {} timed out after 100 ms", server));
  CHECK(log.get()[1] == "msg 7");
  rt.send(server, answer_now{});
  CHECK(eventually([&] { return rt.messages().late_replies == 1; }));
  rt.send(client, 8);
  CHECK(eventually([&] { return log.get().size() == 3; }));
  CHECK(log.get()[2] == "msg 8");  // the late answer reached no code
}

TEST_CASE("an untyped call that times out yields the timeout") {
  std::shared_ptr<manual_clock> clk;
  runtime rt(manual(clk));
  lines log;
  pid server = rt.spawn<doubler>(true);
  rt.send(untyped_client(rt, server, log, 50ms), 1);
  CHECK(eventually([&] { return rt.process_info(server)->messages_received >= 2; }));
  clk->advance(50ms);
  CHECK(eventually([&] { return log.get().size() == 1; }));
  CHECK(log.get()[0] == "timeout");
}

TEST_CASE("a call to a dead process fails with noproc at once") {
  runtime rt(test::two_schedulers());
  lines log;
  pid server = rt.spawn<doubler>(false);
  rt.exit(server, "kill");
  CHECK(eventually([&] { return rt.process_count() == 0; }));
  rt.send(typed_client(rt, server, log, agner::infinity), 1);
  rt.send(untyped_client(rt, server, log, agner::infinity), 1);
  CHECK(eventually([&] { return log.get().size() == 2; }));
  auto got = log.get();
  std::sort(got.begin(), got.end());
  CHECK(got[0] == fmt::format("error call to {}: noproc (no such process)", server));
  CHECK(got[1] == "noproc");
}

TEST_CASE("a callee that ends during the call ends it with the callee's exit reason") {
  runtime rt(test::two_schedulers());
  lines log;
  pid server = rt.spawn<doubler>(true);
  pid client = typed_client(rt, server, log, agner::infinity);
  rt.send(client, 1);
  CHECK(eventually([&] { return rt.process_info(server)->messages_received >= 2; }));
  rt.exit(server, "went away");
  CHECK(eventually([&] { return log.get().size() == 1; }));
  CHECK(log.get()[0] == fmt::format("error call to {}: the callee exited before answering: went away", server));
  CHECK(rt.process_info(client).has_value());  // caught: the client lives on
}

TEST_CASE("messages that arrive during a call stay queued in order and are handled after it") {
  runtime rt(test::two_schedulers());
  lines log;
  pid server = rt.spawn<doubler>(true);
  pid client = typed_client(rt, server, log);
  rt.send(client, 21);
  CHECK(eventually([&] { return rt.process_info(server)->messages_received >= 2; }));
  for (int i = 1; i <= 3; ++i) rt.send(client, i);
  CHECK(eventually([&] {
    auto info = rt.process_info(client);
    return info->message_queue_len == 3 && info->status == process_status::waiting;
  }));
  CHECK(log.get().empty());
  rt.send(server, answer_now{});
  CHECK(eventually([&] { return log.get().size() == 4; }));
  CHECK(log.get() == std::vector<std::string>{"ok 42 for 21", "msg 1", "msg 2", "msg 3"});
}

TEST_CASE("two calls in a row in one handler each get their own answer") {
  runtime rt(test::two_schedulers());
  lines log;
  pid a = rt.spawn<doubler>(false);
  pid b = rt.spawn<doubler>(false);
  pid client = rt.spawn_fn([&](context& ctx, message& m) -> task {
    if (!m.is<int>()) co_return;
    int x = co_await ctx.call(a, twice{*m.get<int>()}, 60s);
    int y = co_await ctx.call(b, twice{x}, 60s);
    log.add(fmt::format("{} {}", x, y));
  });
  for (int i = 1; i <= 3; ++i) rt.send(client, i);
  CHECK(eventually([&] { return log.get().size() == 3; }));
  CHECK(log.get() == std::vector<std::string>{"2 4", "4 8", "6 12"});
}

TEST_CASE("an exception in a coroutine handler crashes the process with its text") {
  runtime_options o = test::two_schedulers();
  test::captured_log captured;
  o.log = captured.sink();
  runtime rt(o);
  pid server = rt.spawn<doubler>(false);
  pid thrower = rt.spawn_fn([server](context& ctx, message&) -> task {
    co_await ctx.call(server, twice{1}, 60s);
    throw std::runtime_error("failed after the call");
  });
  rt.send(thrower, 0);
  CHECK(eventually([&] { return rt.exit_reason(thrower).has_value(); }));
  CHECK(rt.exit_reason(thrower) == "failed after the call");
  pid dead = rt.spawn<doubler>(false);
  rt.exit(dead, "kill");
  CHECK(eventually([&] { return rt.exit_reason(dead).has_value(); }));
  pid uncaught = rt.spawn_fn([dead](context& ctx, message&) -> task { co_await ctx.call(dead, twice{1}, 1s); });
  rt.send(uncaught, 0);
  CHECK(eventually([&] { return rt.exit_reason(uncaught).has_value(); }));
  CHECK(rt.exit_reason(uncaught) == fmt::format("call to {}: noproc (no such process)", dead));
  pid self_caller = rt.spawn_fn([](context& ctx, message&) -> task { co_await ctx.call(ctx.self(), twice{1}, 1s); });
  rt.send(self_caller, 0);
  CHECK(eventually([&] { return rt.exit_reason(self_caller).has_value(); }));
  CHECK(rt.exit_reason(self_caller)->find("called itself") != std::string::npos);
}

namespace {
struct crash_after_call {};

/// A supervised child whose coroutine handler crashes after a call.
class calling_child final : public async_behaviour {
 public:
  explicit calling_child(pid server) : server_(server) {}
  task handle_async(context& ctx, message& m) override {
    if (!m.is<crash_after_call>()) co_return;
    int v = co_await ctx.call(server_, twice{2}, 60s);
    throw std::runtime_error(fmt::format("crashed with {}", v));
  }

 private:
  pid server_;
};
}  // namespace

TEST_CASE("a supervisor restarts a child that crashed inside a coroutine handler") {
  runtime_options o = test::two_schedulers();
  test::captured_log captured;
  o.log = captured.sink();
  runtime rt(o);
  pid server = rt.spawn<doubler>(false);
  pid sup = rt.spawn<supervisor>(supervisor_flags{restart_strategy::one_for_one, 5, 60s},
                                 std::vector<child_spec>{child_spec::worker<calling_child>("c", server)});
  auto child_pid = [&]() -> pid {
    reply r = rt.call(sup, which_children{}, 10s);
    auto& rows = *r.get<std::vector<child_info>>();
    return rows.empty() ? pid{} : rows[0].current;
  };
  CHECK(eventually([&] { return static_cast<bool>(child_pid()); }));
  pid first = child_pid();
  rt.send(first, crash_after_call{});
  CHECK(eventually([&] { return rt.exit_reason(first).has_value(); }));
  CHECK(rt.exit_reason(first) == "crashed with 4");
  CHECK(eventually([&] {
    pid now = child_pid();
    return now && now != first;
  }));
}

TEST_CASE("a kill while awaiting a call ends the caller, and the answer becomes a dead letter") {
  runtime rt(test::two_schedulers());
  lines log;
  pid server = rt.spawn<doubler>(true);
  pid client = typed_client(rt, server, log, agner::infinity);
  rt.send(client, 1);
  CHECK(eventually([&] { return rt.process_info(server)->messages_received >= 2; }));
  rt.send(client, 2);  // queued: a dead letter when the caller ends
  rt.exit(client, "kill");
  CHECK(eventually([&] { return rt.exit_reason(client).has_value(); }));
  CHECK(rt.exit_reason(client) == "killed");
  CHECK(log.get().empty());
  // The client's leftover message is counted after its exit reason shows: wait for the end of its
  // bookkeeping, or that count would satisfy the wait below instead of the answer's.
  REQUIRE(eventually([&] { return rt.process_count() == 1; }));
  const auto before = rt.messages().dead_letters;
  rt.send(server, answer_now{});
  CHECK(eventually([&] { return rt.messages().dead_letters > before; }));
  CHECK(rt.process_info(server).has_value());
}

TEST_CASE("a normal exit signal to a caller that does not trap exits leaves its call alone") {
  runtime rt(test::two_schedulers());
  lines log;
  pid server = rt.spawn<doubler>(true);
  pid client = typed_client(rt, server, log, agner::infinity);
  rt.send(client, 1);
  CHECK(eventually([&] { return rt.process_info(server)->messages_received >= 2; }));
  rt.exit(client, "normal");
  rt.send(server, answer_now{});
  CHECK(eventually([&] { return log.get().size() == 1; }));
  CHECK(log.get()[0] == "ok 2 for 1");
}

TEST_CASE("a caller that traps exits gets a linked process's exit after its call") {
  runtime rt(test::two_schedulers());
  lines log;
  pid server = rt.spawn<doubler>(true);
  pid linked = rt.spawn<doubler>(false);
  pid client = rt.spawn_fn([&](context& ctx, message& m) -> task {
    if (m.is<int>()) {
      ctx.trap_exit(true);
      ctx.link(linked);
      int v = co_await ctx.call(server, twice{*m.get<int>()}, agner::infinity);
      log.add(fmt::format("ok {}", v));
    } else if (auto* e = m.get<exit_message>()) {
      log.add(fmt::format("exit {}", e->reason));
    }
  });
  rt.send(client, 4);
  CHECK(eventually([&] { return rt.process_info(server)->messages_received >= 2; }));
  rt.exit(linked, "oops");
  CHECK(eventually([&] { return rt.process_info(client)->message_queue_len == 1; }));
  CHECK(log.get().empty());
  rt.send(server, answer_now{});
  CHECK(eventually([&] { return log.get().size() == 2; }));
  CHECK(log.get() == std::vector<std::string>{"ok 8", "exit oops"});
}

TEST_CASE("a caller suspended by an operator goes on with its call only once resumed") {
  runtime rt(test::two_schedulers());
  lines log;
  pid server = rt.spawn<doubler>(true);
  pid client = typed_client(rt, server, log, agner::infinity);
  rt.send(client, 3);
  CHECK(eventually([&] { return rt.process_info(server)->messages_received >= 2; }));
  CHECK(rt.suspend(client));
  CHECK(eventually([&] { return rt.process_info(client)->status == process_status::suspended; }));
  rt.send(server, answer_now{});
  CHECK(eventually([&] { return rt.process_info(server)->messages_received >= 3; }));
  rt.send(client, 9);  // wakes it: it applies what arrived, and stays suspended
  CHECK(eventually([&] { return rt.process_info(client)->message_queue_len == 1; }));
  CHECK(log.get().empty());
  CHECK(rt.resume(client));
  CHECK(eventually([&] { return log.get().size() == 2; }));
  CHECK(log.get() == std::vector<std::string>{"ok 6 for 3", "msg 9"});
}

TEST_CASE("a caller with a drop_oldest mailbox keeps its bound while it waits, and its call still ends") {
  runtime rt(test::two_schedulers());
  lines log;
  pid server = rt.spawn<doubler>(true);
  spawn_options opts;
  opts.max_len = 2;
  opts.overflow = mailbox_overflow::drop_oldest;
  pid client = rt.spawn_fn(
      [server, &log, calls = 0](context& ctx, message& m) mutable -> task {
        const int* n = m.get<int>();
        if (!n) co_return;
        if (calls++ > 0) {
          log.add(fmt::format("msg {}", *n));
          co_return;
        }
        int v = co_await ctx.call(server, twice{*n}, agner::infinity);
        log.add(fmt::format("ok {}", v));
      },
      opts);
  rt.send(client, 1);
  CHECK(eventually([&] { return rt.process_info(server)->messages_received >= 2; }));
  for (int i = 10; i < 15; ++i) rt.send(client, i);
  CHECK(eventually([&] { return rt.messages().dropped_oldest == 3; }));
  rt.send(server, answer_now{});
  CHECK(eventually([&] { return log.get().size() == 3; }));
  CHECK(log.get() == std::vector<std::string>{"ok 2", "msg 13", "msg 14"});
}
