#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <mutex>
#include <optional>
#include <vector>

#include "support.hpp"

using namespace agner;
using namespace std::chrono_literals;
using agner::test::eventually;

namespace {

struct double_it {
  int n;
};
struct answer_now {};

/// Answers double_it at once, or holds the request until told (answer_now).
class doubler final : public behaviour {
 public:
  explicit doubler(bool hold) : hold_(hold) {}
  void handle(context& ctx, message& m) override {
    if (auto* r = m.get<request<double_it>>()) {
      if (hold_) {
        held_ = *r;
      } else {
        ctx.reply(r->from, r->body.n * 2);
      }
    } else if (m.is<answer_now>() && held_) {
      ctx.reply(held_->from, held_->body.n * 2);
    }
  }

 private:
  bool hold_;
  std::optional<request<double_it>> held_;
};

struct outcome_log {
  std::mutex mutex;
  std::vector<std::string> lines;
  void add(reply& r) {
    std::lock_guard lock(mutex);
    if (r.ok()) {
      lines.push_back(fmt::format("ok {}", *r.get<int>()));
    } else {
      lines.push_back(r.outcome() == reply::status::timeout ? "timeout" : "noproc");
    }
  }
  std::vector<std::string> get() {
    std::lock_guard lock(mutex);
    return lines;
  }
};

/// Sends one request to `to` when poked.
pid requester(runtime& rt, pid to, outcome_log& log, std::chrono::milliseconds timeout = 1000ms) {
  return rt.spawn_fn([&log, to, timeout](context& ctx, message& m) {
    if (!m.is<int>()) return;
    ctx.request(to, double_it{21}, timeout, [&log](context&, reply& r) { log.add(r); });
  });
}

}  // namespace

namespace {
/// How many monitors `p` is watched by, as inspect() reports it.
std::size_t monitors_of(runtime& rt, pid p) {
  std::promise<std::size_t> n;
  if (!rt.inspect(p, {}, [&](process_report r) { n.set_value(r.monitored_by.size()); })) return 999;
  return n.get_future().get();
}
}  // namespace

TEST_CASE("a request's answer comes back through its continuation") {
  runtime rt(test::two_schedulers());
  outcome_log log;
  pid server = rt.spawn<doubler>(false);
  rt.send(requester(rt, server, log), 0);
  CHECK(eventually([&] { return log.get().size() == 1; }));
  CHECK(log.get()[0] == "ok 42");
}

TEST_CASE("a request to a dead process gets noproc at once") {
  runtime rt(test::two_schedulers());
  outcome_log log;
  pid server = rt.spawn<doubler>(false);
  rt.exit(server, "kill");
  CHECK(eventually([&] { return rt.process_count() == 0; }));
  rt.send(requester(rt, server, log), 0);
  CHECK(eventually([&] { return log.get().size() == 1; }));
  CHECK(log.get()[0] == "noproc");
}

TEST_CASE("an unanswered request times out, and a late answer is dropped and counted") {
  auto clk = std::make_shared<manual_clock>();
  runtime_options o = test::two_schedulers();
  o.clock = clk;
  runtime rt(o);
  outcome_log log;
  pid server = rt.spawn<doubler>(true);
  pid client = requester(rt, server, log, 100ms);
  rt.send(client, 0);
  // the request's monitor (a signal, counted as received) and the request, held
  CHECK(eventually([&] { return rt.process_info(server)->messages_received == 2; }));
  clk->advance(99ms);
  rt.send(client, 1.5);  // not an int: pokes nothing, but is handled after anything due
  CHECK(eventually([&] { return rt.process_info(client)->messages_received == 2; }));
  CHECK(log.get().empty());
  clk->advance(1ms);
  CHECK(eventually([&] { return log.get().size() == 1; }));
  CHECK(log.get()[0] == "timeout");
  rt.send(server, answer_now{});
  CHECK(eventually([&] { return rt.messages().late_replies == 1; }));
  // Received so far: 0, 1.5, the request timer, the timeout, the late answer. One more, and the
  // late answer is surely behind us.
  CHECK(rt.process_info(client)->messages_received == 5);
  rt.send(client, 1.5);
  CHECK(eventually([&] { return rt.process_info(client)->messages_received == 6; }));
  CHECK(log.get().size() == 1);  // the continuation ran once
}

namespace {
struct answer_all {};

/// Keeps every request until told to answer them all.
class holder final : public behaviour {
 public:
  explicit holder(std::atomic<int>& held) : held_(held) {}
  void handle(context& ctx, message& m) override {
    if (auto* r = m.get<request<double_it>>()) {
      kept_.push_back(*r);
      held_++;
    } else if (m.is<answer_all>()) {
      for (auto& k : kept_) ctx.reply(k.from, k.body.n * 2);
      kept_.clear();
    }
  }

 private:
  std::atomic<int>& held_;
  std::vector<request<double_it>> kept_;
};
}  // namespace

TEST_CASE("requests with different timeouts each time out at their own deadline, and infinity never does") {
  auto clk = std::make_shared<manual_clock>();
  runtime_options o = test::two_schedulers();
  o.clock = clk;
  runtime rt(o);
  std::atomic<int> held{0};
  pid server = rt.spawn<holder>(held);
  outcome_log log;
  // Poked with n, sends request n with the n-th timeout; logs "n outcome".
  const std::vector<std::chrono::nanoseconds> timeouts{50ms, 20ms, agner::infinity, 200ms};
  pid client = rt.spawn_fn([&](context& ctx, message& m) {
    auto* n = m.get<int>();
    if (!n) return;
    ctx.request(server, double_it{*n}, timeouts[static_cast<std::size_t>(*n)], [&log, k = *n](context&, reply& r) {
      std::lock_guard lock(log.mutex);
      log.lines.push_back(fmt::format("{} {}", k, r.ok() ? "ok" : "timeout"));
    });
  });
  for (int n = 0; n < 4; ++n) rt.send(client, n);
  CHECK(eventually([&] { return held.load() == 4; }));
  clk->advance(19ms);
  CHECK(log.get().empty());
  clk->advance(1ms);
  CHECK(eventually([&] { return log.get().size() == 1; }));
  clk->advance(29ms);
  clk->advance(1ms);
  CHECK(eventually([&] { return log.get().size() == 2; }));
  CHECK(log.get() == std::vector<std::string>{"1 timeout", "0 timeout"});
  rt.send(server, answer_all{});
  CHECK(eventually([&] { return log.get().size() == 4; }));
  CHECK(rt.messages().late_replies == 2);
  auto answered = log.get();
  std::sort(answered.begin() + 2, answered.end());
  CHECK(answered == std::vector<std::string>{"1 timeout", "0 timeout", "2 ok", "3 ok"});
  clk->advance(std::chrono::hours(1));  // nothing is left to time out
  rt.send(client, 2);
  CHECK(eventually([&] { return held.load() == 5; }));
  clk->advance(std::chrono::hours(24 * 365));
  rt.send(server, answer_all{});
  CHECK(eventually([&] { return log.get().size() == 5; }));
  CHECK(log.get().back() == "2 ok");
}

TEST_CASE("a blocking call from a plain thread returns the answer or the timeout, and leaves no monitor behind") {
  auto clk = std::make_shared<manual_clock>();
  runtime_options o = test::two_schedulers();
  o.clock = clk;
  runtime rt(o);
  pid quick = rt.spawn<doubler>(false);
  pid slow = rt.spawn<doubler>(true);
  reply r = rt.call(quick, double_it{5}, 1s);
  REQUIRE(r.ok());
  CHECK(*r.get<int>() == 10);
  auto pending = std::async(std::launch::async, [&] { return rt.call(slow, double_it{1}, 50ms); });
  // Time passes only when we say; keep it moving until the call gives up.
  CHECK(eventually([&] {
    clk->advance(10ms);
    return pending.wait_for(0s) == std::future_status::ready;
  }));
  CHECK(pending.get().outcome() == reply::status::timeout);
  // Each call's monitor cancel was queued at its server before the call returned, so ahead of this inspect.
  CHECK(monitors_of(rt, quick) == 0);
  CHECK(monitors_of(rt, slow) == 0);
}

TEST_CASE("a request whose target ends before answering gets noproc with the reason, not the timeout") {
  runtime rt(test::two_schedulers());
  pid server = rt.spawn<doubler>(true);  // holds every request
  std::promise<std::pair<reply::status, std::string>> got;
  pid client = rt.spawn_fn([&, server](context& ctx, message& m) {
    if (!m.is<int>()) return;
    ctx.request(server, double_it{1}, agner::infinity, [&](context&, reply& r) {
      got.set_value({r.outcome(), r.get<std::string>() ? *r.get<std::string>() : "(none)"});
    });
  });
  rt.send(client, 0);
  REQUIRE(eventually([&] { return rt.process_info(server)->messages_received >= 1; }));  // the request is held
  rt.exit(server, "kill");
  auto answer = got.get_future();
  REQUIRE(answer.wait_for(60s) == std::future_status::ready);  // with agner::infinity, only the DOWN ends it
  auto [status, reason] = answer.get();
  CHECK(status == reply::status::noproc);
  CHECK(reason == "killed");
}

TEST_CASE("a blocking call to a process that dies before answering returns noproc at once") {
  runtime rt(test::two_schedulers());
  pid server = rt.spawn<doubler>(true);
  auto pending = std::async(std::launch::async, [&] { return rt.call(server, double_it{1}, agner::infinity); });
  REQUIRE(eventually([&] { return rt.process_info(server)->messages_received >= 1; }));
  rt.exit(server, "shutdown");
  REQUIRE(pending.wait_for(60s) == std::future_status::ready);  // without the monitor: for ever
  reply r = pending.get();
  CHECK(r.outcome() == reply::status::noproc);
  REQUIRE(r.get<std::string>());
  CHECK(*r.get<std::string>() == "shutdown");
}

TEST_CASE("a blocking call from inside a handler is refused") {
  runtime rt(test::two_schedulers());
  std::promise<std::string> what;
  pid p = rt.spawn_fn([&](context& ctx, message&) {
    try {
      ctx.node().call(ctx.self(), 1, 1s);
    } catch (const std::logic_error& e) {
      what.set_value(e.what());
    }
  });
  rt.send(p, 0);
  CHECK(what.get_future().get() == "runtime::call blocks, so it must not be called from a handler");
}

namespace {
struct get_total {
  using reply_type = long;
};
}  // namespace

TEST_CASE("a request body's reply_type turns the server's answer into that type") {
  static_assert(std::is_same_v<reply_type_t<get_total>, long>);
  static_assert(std::is_void_v<reply_type_t<double_it>>);
  runtime rt(agner::test::two_schedulers());
  pid server = rt.spawn_fn([](context& ctx, message& m) {
    if (auto* r = m.get<request<get_total>>()) ctx.reply(*r, 42);  // an int, sent as the long declared
  });
  auto r = rt.call(server, get_total{}, 60s);
  REQUIRE(r.ok());
  CHECK(r.as<reply_type_t<get_total>>() == 42L);
}

TEST_CASE("reading a reply as the wrong type is an error naming both types") {
  runtime rt(agner::test::two_schedulers());
  pid server = rt.spawn_fn([](context& ctx, message& m) {
    if (auto* r = m.get<request<double_it>>()) ctx.reply(*r, r->body.n * 2);  // no reply_type: an int
  });
  auto r = rt.call(server, double_it{4}, 60s);
  REQUIRE(r.ok());
  CHECK(r.get<long>() == nullptr);
  CHECK(r.as<int>() == 8);
  CHECK_THROWS_WITH_AS(r.as<long>(), "reply holds int, not long", bad_reply_type);
  pid silent = rt.spawn_fn([](context&, message&) {});
  auto late = rt.call(silent, double_it{1}, 1ms);
  CHECK_THROWS_WITH_AS(late.as<int>(), "reply timed out: no answer of type int", bad_reply_type);
}

TEST_CASE("a request to a dead process gets noproc with the reason noproc") {
  runtime rt(test::two_schedulers());
  pid server = rt.spawn<doubler>(false);
  rt.exit(server, "kill");
  REQUIRE(eventually([&] { return rt.process_count() == 0; }));
  reply r = rt.call(server, double_it{1}, 60s);
  CHECK(r.outcome() == reply::status::noproc);
  REQUIRE(r.get<std::string>());  // docs: get<std::string>() holds "noproc" if it was dead already
  CHECK(*r.get<std::string>() == "noproc");
}

TEST_CASE("a request passed on and answered by another process leaves no monitor on the first") {
  runtime rt(test::two_schedulers());
  pid quick = rt.spawn<doubler>(false);
  pid forwarder = rt.spawn_fn([quick](context& ctx, message& m) {
    if (auto* r = m.get<request<double_it>>()) ctx.send(quick, *r);
  });
  for (int i = 0; i < 3; ++i) CHECK(rt.call(forwarder, double_it{i}, 60s).ok());
  CHECK(eventually([&] { return monitors_of(rt, forwarder) == 0; }));
  CHECK(monitors_of(rt, quick) == 0);
}

TEST_CASE("a requester that ends while its request is held leaves no monitor on the target") {
  runtime rt(test::two_schedulers());
  std::atomic<int> held{0};
  pid server = rt.spawn<holder>(held);
  outcome_log log;
  pid client = requester(rt, server, log, 60s);
  rt.send(client, 0);
  REQUIRE(eventually([&] { return held.load() == 1; }));
  CHECK(monitors_of(rt, server) == 1);
  rt.exit(client, "kill");
  CHECK(eventually([&] { return monitors_of(rt, server) == 0; }));
  rt.send(server, answer_all{});  // its answer goes to a dead pid
  CHECK(eventually([&] { return monitors_of(rt, server) == 0; }));
  CHECK(log.get().empty());
}

TEST_CASE("a request to itself is answered once and leaves no monitor") {
  runtime rt(test::two_schedulers());
  outcome_log log;
  pid self_caller = rt.spawn_fn([&log](context& ctx, message& m) {
    if (auto* r = m.get<request<double_it>>()) {
      ctx.reply(r->from, r->body.n * 2);
    } else if (m.is<int>()) {
      ctx.request(ctx.self(), double_it{21}, 60s, [&log](context&, reply& answer) { log.add(answer); });
    }
  });
  rt.send(self_caller, 0);
  REQUIRE(eventually([&] { return log.get().size() == 1; }));
  CHECK(log.get()[0] == "ok 42");
  CHECK(eventually([&] { return monitors_of(rt, self_caller) == 0; }));
  rt.send(self_caller, 1.5);
  CHECK(eventually([&] { return rt.process_info(self_caller)->messages_received >= 4; }));
  CHECK(log.get().size() == 1);
}

TEST_CASE("a request's monitor and a monitor of the same target each give their own answer") {
  runtime rt(test::two_schedulers());
  pid server = rt.spawn<doubler>(true);
  std::promise<reply::status> request_done;
  std::promise<std::string> down;
  pid client = rt.spawn_fn([&, server](context& ctx, message& m) {
    if (m.is<int>()) {
      ctx.monitor(server);
      ctx.request(server, double_it{1}, agner::infinity, [&](context&, reply& r) { request_done.set_value(r.outcome()); });
    } else if (auto* d = m.get<down_message>()) {
      down.set_value(d->reason);
    }
  });
  rt.send(client, 0);
  REQUIRE(eventually([&] { return monitors_of(rt, server) == 2; }));
  rt.exit(server, "boom");
  auto a = request_done.get_future();
  auto b = down.get_future();
  REQUIRE(a.wait_for(60s) == std::future_status::ready);
  REQUIRE(b.wait_for(60s) == std::future_status::ready);
  CHECK(a.get() == reply::status::noproc);
  CHECK(b.get() == "boom");
}

TEST_CASE("a request its target's bounded mailbox refuses gets noproc with the reason refused and leaves no monitor") {
  runtime rt(test::two_schedulers());
  spawn_options o;
  o.max_len = 1;
  pid server = rt.spawn_fn([](context& ctx, message& m) {
    if (auto* r = m.get<request<double_it>>()) ctx.reply(r->from, r->body.n * 2);
  }, o);
  REQUIRE(rt.suspend(server));
  REQUIRE(eventually([&] { return rt.process_info(server)->status == process_status::suspended; }));
  rt.send(server, 1);  // fills it
  reply r = rt.call(server, double_it{1}, 60s);
  CHECK(r.outcome() == reply::status::noproc);
  REQUIRE(r.get<std::string>());
  CHECK(*r.get<std::string>() == "refused");
  rt.resume(server);
  CHECK(eventually([&] { return monitors_of(rt, server) == 0; }));
  CHECK(eventually([&] { return rt.call(server, double_it{2}, 60s).ok(); }));  // once the filler is handled
}

TEST_CASE("a request reaches an idle process whose mailbox is bounded at one message") {
  runtime rt(test::two_schedulers());
  spawn_options o;
  o.max_len = 1;
  pid server = rt.spawn_fn([](context& ctx, message& m) {
    if (auto* r = m.get<request<double_it>>()) ctx.reply(r->from, r->body.n * 2);
  }, o);
  reply r = rt.call(server, double_it{2}, 60s);
  CHECK(r.ok());
  if (!r.ok() && r.get<std::string>()) MESSAGE("reason: " << *r.get<std::string>());
}
