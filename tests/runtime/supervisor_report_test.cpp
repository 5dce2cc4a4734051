// supervisor::all and supervisor::report: what an operator's tool reads without sending a message.
#include <doctest/doctest.h>

#include <memory>

#include "agner/runtime/supervisor.hpp"
#include "support.hpp"

using namespace agner;
using namespace std::chrono_literals;
using agner::test::eventually;

namespace {

struct resting final : behaviour {
  void handle(context&, message&) override {}
};

supervisor_report read(runtime& rt, pid p, std::size_t n = 100) { return supervisor::report(rt, p, n, 1s); }

}  // namespace

TEST_CASE("a supervisor publishes its flags, its children and the supervisor that started it") {
  runtime rt(test::two_schedulers());
  std::vector<child_spec> inner{child_spec::worker<resting>("a"), child_spec::worker<resting>("b")};
  const pid top = rt.spawn<supervisor>(supervisor_flags{restart_strategy::one_for_all, 4, 30s},
                                       std::vector<child_spec>{supervisor::child("inner", {}, inner),
                                                               child_spec::worker<resting>("c")});
  REQUIRE(eventually([&] { return supervisor::all(rt).size() == 2; }));
  auto r = read(rt, top);
  REQUIRE(r.result == supervisor_report::outcome::ok);
  CHECK(r.flags.strategy == restart_strategy::one_for_all);
  CHECK(r.flags.intensity == 4);
  CHECK(r.flags.period == 30s);
  CHECK(r.child_count == 2);
  CHECK_FALSE(r.parent);
  REQUIRE(r.children.size() == 2);
  CHECK(r.children[0].id == "inner");
  CHECK(r.children[0].type == child_type::supervisor);
  CHECK(r.children[1].type == child_type::worker);
  auto nested = read(rt, r.children[0].current);
  REQUIRE(nested.result == supervisor_report::outcome::ok);
  CHECK(nested.parent == top);
  CHECK(nested.children.size() == 2);
  CHECK(read(rt, top, 1).children.size() == 1);  // at most the asked number, child_count still all
  CHECK(read(rt, top, 1).child_count == 2);
  CHECK(read(rt, r.children[1].current).result == supervisor_report::outcome::not_a_supervisor);
  rt.exit(top, "shutdown");
  REQUIRE(eventually([&] { return supervisor::all(rt).empty(); }));
  CHECK(read(rt, top).result == supervisor_report::outcome::not_a_supervisor);
}

TEST_CASE("a supervisor's published restarts count only those within its period") {
  auto clk = std::make_shared<manual_clock>();
  runtime_options o = test::two_schedulers();
  o.clock = clk;
  runtime rt(o);
  const pid sup = rt.spawn<supervisor>(supervisor_flags{restart_strategy::one_for_one, 5, 10s},
                                       std::vector<child_spec>{child_spec::worker<resting>("w")});
  REQUIRE(eventually([&] { return read(rt, sup).result == supervisor_report::outcome::ok; }));
  for (int i = 1; i <= 2; ++i) {
    const pid child = read(rt, sup).children.at(0).current;
    rt.exit(child, "kill");
    REQUIRE(eventually([&] {
      auto r = read(rt, sup);
      return r.restarts == static_cast<std::size_t>(i) && r.children.at(0).current && r.children[0].current != child;
    }));
    clk->advance(6s);
  }
  // The first restart is 12 s old now, the second 6 s: one left in the 10 s window.
  CHECK(read(rt, sup).restarts == 1);
  clk->advance(5s);
  CHECK(read(rt, sup).restarts == 0);
}
