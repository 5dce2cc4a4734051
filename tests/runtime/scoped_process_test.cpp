#include <doctest/doctest.h>

#include <future>
#include <stdexcept>
#include <string>

#include "agner/runtime/scoped_process.hpp"
#include "support.hpp"

using namespace agner;
using namespace std::chrono_literals;
using agner::test::eventually;

namespace {

struct square {
  int n;
};

/// Answers square requests; echoes an int back to the pid it carries.
struct echo_to {
  pid to;
  int n;
};

void squarer(context& ctx, message& m) {
  if (auto* r = m.get<request<square>>()) ctx.reply(r->from, r->body.n * r->body.n);
  if (auto* e = m.get<echo_to>()) ctx.send(e->to, e->n);
}

}  // namespace

TEST_CASE("a scoped process receives what is sent to its pid, in order") {
  runtime rt(agner::test::two_schedulers());
  scoped_process self(rt);
  pid echo = rt.spawn_fn(squarer);
  for (int i = 0; i < 100; ++i) self.send(echo, echo_to{self.self(), i});
  for (int i = 0; i < 100; ++i) {
    auto n = self.receive_as<int>(60s);
    REQUIRE(n);
    CHECK(*n == i);
  }
}

TEST_CASE("a scoped process receive returns nothing when no message comes in time") {
  runtime rt(agner::test::two_schedulers());
  scoped_process self(rt);
  CHECK(self.receive(0ms) == nullptr);
  CHECK(self.receive(1ms) == nullptr);
}

TEST_CASE("a scoped process is a live process while it exists and ends with it") {
  runtime rt(agner::test::two_schedulers());
  pid p;
  {
    scoped_process self(rt, spawn_options{.name = "main_thread"});
    p = self.self();
    CHECK(rt.process_info(p).has_value());
    CHECK(rt.whereis("main_thread") == p);
  }
  CHECK(eventually([&] { return !rt.process_info(p).has_value(); }));
}

TEST_CASE("a scoped process call answers with the reply the server sent") {
  runtime rt(agner::test::two_schedulers());
  scoped_process self(rt);
  pid server = rt.spawn_fn(squarer);
  auto r = self.call(server, square{7}, 60s);
  REQUIRE(r.ok());
  CHECK(*r.get<int>() == 49);
}

TEST_CASE("a scoped process call to a dead process is noproc and one to a silent process times out") {
  runtime rt(agner::test::two_schedulers());
  scoped_process self(rt);
  pid silent = rt.spawn_fn([](context&, message&) {});
  CHECK(self.call(silent, square{1}, 10ms).outcome() == reply::status::timeout);
  rt.exit(silent, "kill");
  CHECK(eventually([&] { return !rt.process_info(silent).has_value(); }));
  CHECK(self.call(silent, square{1}, 60s).outcome() == reply::status::noproc);
}

TEST_CASE("messages arriving during a scoped process call stay queued in order") {
  runtime rt(agner::test::two_schedulers());
  scoped_process self(rt);
  pid server = rt.spawn_fn(squarer);
  self.send(server, echo_to{self.self(), 1});
  self.send(server, echo_to{self.self(), 2});
  auto r = self.call(server, square{3}, 60s);
  REQUIRE(r.ok());
  CHECK(*r.get<int>() == 9);
  CHECK(self.receive_as<int>(60s) == 1);
  CHECK(self.receive_as<int>(60s) == 2);
}

TEST_CASE("a scoped process gets a DOWN for a process it monitors and an exit_message from a link") {
  runtime rt(agner::test::two_schedulers());
  scoped_process self(rt);
  pid a = rt.spawn_fn([](context&, message&) {});
  pid b = rt.spawn_fn([](context&, message&) {});
  auto ref = self.monitor(a);
  self.link(b);
  rt.exit(a, "boom");
  auto down = self.receive_as<down_message>(60s);
  REQUIRE(down);
  CHECK(down->ref == ref);
  CHECK(down->reason == "boom");
  rt.exit(b, "bang");
  auto ex = self.receive_as<exit_message>(60s);
  REQUIRE(ex);
  CHECK(ex->from == b);
  CHECK(ex->reason == "bang");
}

TEST_CASE("a scoped process that was killed receives nothing and its calls are noproc") {
  runtime rt(agner::test::two_schedulers());
  scoped_process self(rt);
  pid server = rt.spawn_fn(squarer);
  rt.exit(self.self(), "kill");
  CHECK(self.receive(agner::infinity) == nullptr);
  CHECK(self.call(server, square{2}, 60s).outcome() == reply::status::noproc);
}

TEST_CASE("a scoped process cannot be made on a scheduler thread") {
  runtime rt(agner::test::two_schedulers());
  std::promise<bool> threw;
  pid p = rt.spawn_fn([&](context& ctx, message&) {
    try {
      scoped_process inner(ctx.node());
      threw.set_value(false);
    } catch (const std::logic_error&) {
      threw.set_value(true);
    }
  });
  rt.send(p, 1);
  CHECK(threw.get_future().get());
}
