#include <doctest/doctest.h>

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
  CHECK(eventually([&] { return rt.process_info(server)->messages_received == 1; }));  // request held
  clk->advance(99ms);
  rt.send(client, 1.5);  // not an int: pokes nothing, but is handled after anything due
  CHECK(eventually([&] { return rt.process_info(client)->messages_received == 2; }));
  CHECK(log.get().empty());
  clk->advance(1ms);
  CHECK(eventually([&] { return log.get().size() == 1; }));
  CHECK(log.get()[0] == "timeout");
  rt.send(server, answer_now{});
  CHECK(eventually([&] { return rt.messages().late_replies == 1; }));
  rt.send(client, 1.5);
  CHECK(eventually([&] { return rt.process_info(client)->messages_received == 5; }));
  CHECK(log.get().size() == 1);  // the continuation ran once
}

TEST_CASE("a blocking call from a plain thread returns the answer or the timeout") {
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
