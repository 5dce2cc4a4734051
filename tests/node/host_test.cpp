// The embeddable node (agner/node/node.hpp): the host wires valves into the runtime's own shed
// points, serves what it is told to, and stops on request.
#include <doctest/doctest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "agner/attach/client.hpp"
#include "agner/node/node.hpp"
#include "support.hpp"

using namespace agner;

namespace {

/// The host blocks the stop signals in this thread: put the mask back for the next test.
struct saved_signal_mask {
  sigset_t old;
  saved_signal_mask() { pthread_sigmask(SIG_BLOCK, nullptr, &old); }
  ~saved_signal_mask() { pthread_sigmask(SIG_SETMASK, &old, nullptr); }
};

node::node_options quiet_options(const std::string& name) {
  node::node_options o;
  o.runtime = test::two_schedulers();
  o.server.node_name = name;
  o.server.unix_path = "off";
  o.metrics.listen = "off";
  o.program = "host_test";
  return o;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

TEST_CASE("a node host gates spawns on its spawn valve and sends by name on a valve, and an operator closing it sheds both") {
  saved_signal_mask mask;
  auto o = quiet_options("host_gates");
  o.spawn_valve = "ingress";
  node::host h(o);
  std::atomic<int> got{0};
  h.rt().spawn_fn([&](context&, message&) { ++got; }, spawn_options{.name = "matcher"});
  h.gate_sends("matcher", "ingress", "normal");
  CHECK(h.rt().send("matcher", 1));  // open: admitted
  REQUIRE(test::eventually([&] { return got.load() == 1; }));
  REQUIRE(h.alarms().override_valve("ingress", alarms::engine::override_mode::closed, now_ms() + 3'600'000));
  // The host's own ticker applies the override on its next tick.
  REQUIRE(test::eventually([&] { return !h.rt().send("matcher", 2); }));
  bool refused = false;
  try {
    h.rt().spawn_fn([](context&, message&) {});
  } catch (const spawn_error& e) {
    refused = e.why() == spawn_error::reason::overloaded;
    CHECK(std::string(e.what()) == "cannot spawn: overloaded (valve ingress), retry later");
  }
  CHECK(refused);
  CHECK(h.rt().messages().shed >= 1);
  CHECK(h.valve("ingress").count(h.priority_class("normal")).shed >= 2);  // the spawn and the send
}

TEST_CASE("a node host without a rules file sheds by the same priority classes as a rules file without classes") {
  saved_signal_mask mask;
  node::host h(quiet_options("host_default_classes"));
  auto parsed = alarms::parse_rules(R"({"version": 1})", "t.json");
  REQUIRE(std::holds_alternative<alarms::rules>(parsed));
  alarms::engine from_file(std::get<alarms::rules>(parsed), {});
  const auto classes = [](alarms::engine& e) {
    e.valve_named("ingress");
    std::vector<std::string> names;
    for (auto& v : e.valves())
      for (auto& [name, counts] : v.classes) names.push_back(name);
    return names;
  };
  CHECK(classes(h.alarms()) == classes(from_file));
  for (auto name : {"system", "normal", "batch"}) CHECK(h.priority_class(name) == from_file.class_index(name));
}

TEST_CASE("a node host runs setup before it serves, counts business metrics, and wait returns on request_stop") {
  saved_signal_mask mask;
  auto o = quiet_options("host_setup");
  const auto dir = std::filesystem::temp_directory_path() / fmt::format("agner-host-test-{}", ::getpid());
  std::filesystem::create_directories(dir);
  // A socket directory must be the node's owner's alone (docs/protocol.md).
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all, std::filesystem::perm_options::replace);
  o.server.unix_path = (dir / "host_setup.sock").string();
  bool socket_there_in_setup = true;
  std::optional<exporter::counter> jobs;
  {
    node::host h(o, [&](node::host& self) {
      socket_there_in_setup = std::filesystem::exists(o.server.unix_path);
      jobs = self.metrics().make_counter("jobs_total", "Jobs done.");
      self.rt().spawn_fn([](context&, message&) {}, spawn_options{.name = "setup_worker"});
    });
    CHECK(socket_there_in_setup);  // bound, its checks passed, before setup; served only after it
    CHECK(h.unix_path() == o.server.unix_path);
    CHECK(h.metrics_port() == 0);
    jobs->inc(3);
    CHECK(h.metrics().value("jobs_total") == 3);
    introspect::client c = introspect::client::attach_unix(h.unix_path());
    CHECK(c.process_info("setup_worker").row.registered_name == "setup_worker");
    std::thread stopper([&] { h.request_stop(); });
    CHECK(h.wait() == 0);
    stopper.join();
    h.stop();
    CHECK_FALSE(std::filesystem::exists(o.server.unix_path));
    h.stop();  // idempotent
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("a node host refuses a bad rules file with the file's errors and leaves nothing running") {
  saved_signal_mask mask;
  auto o = quiet_options("host_bad_rules");
  const auto file = std::filesystem::temp_directory_path() / fmt::format("agner-host-bad-rules-{}.json", ::getpid());
  { std::ofstream(file) << "{\"version\": 1, \"alarms\": [{\"id\": 5}]}\n"; }
  o.rules = file.string();
  CHECK_THROWS_WITH_AS(node::host{o}, doctest::Contains("the rules file has errors"), std::runtime_error);
  std::filesystem::remove(file);
}

TEST_CASE("a node host over a runtime the caller owns takes its gates off when it stops, and the runtime goes on") {
  saved_signal_mask mask;
  node::block_stop_signals();
  runtime rt(test::two_schedulers());
  auto o = quiet_options("host_borrowed");
  o.spawn_valve = "spawns";
  {
    node::host h(rt, o);
    CHECK(&h.rt() == &rt);
    REQUIRE(h.alarms().override_valve("spawns", alarms::engine::override_mode::closed, now_ms() + 3'600'000));
    REQUIRE(test::eventually([&] {
      try {
        rt.spawn_fn([](context&, message&) {});
        return false;
      } catch (const spawn_error&) {
        return true;
      }
    }));
    h.stop();
    std::atomic<int> got{0};
    rt.spawn_fn([&](context&, message&) { ++got; }, spawn_options{.name = "after"});  // no gate now
    CHECK(rt.send("after", 1));
    CHECK(test::eventually([&] { return got.load() == 1; }));
    rt.stop();  // the caller's runtime stops before the host goes
  }
}
