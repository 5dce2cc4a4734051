// The `warnings` op over a real socket: raised by a real workload, sampled by the server's own
// timer, cleared when the workload stops; its field checked.
#include <doctest/doctest.h>

#include "attach_support.hpp"

using namespace agner;
using namespace agner::test;

namespace {

/// A node's alarm side with nothing but warning thresholds (the node's alarm_service reads them
/// from the rules file).
class thresholds_only final : public alarm_control {
 public:
  warning_thresholds t;
  std::vector<alarm_row> active() override { return {}; }
  std::vector<alarm_event> history(std::size_t) override { return {}; }
  std::vector<valve_row> valves() override { return {}; }
  bool acknowledge(const std::string&) override { return false; }
  void set(const std::string&, const std::string&, const std::string&) override {}
  bool clear(const std::string&) override { return false; }
  bool override_valve(const std::string&, const std::string&, std::int64_t) override { return false; }
  std::vector<std::string> reload() override { return {}; }
  warning_thresholds warning_config() override { return t; }
};

struct warned_node {
  std::string dir = temp_dir();
  runtime rt{two_schedulers()};
  thresholds_only alarms;
  std::unique_ptr<server> srv;
  warned_node() {
    alarms.t.sample_ms = 100;
    alarms.t.old_message_ms = 50;
    alarms.t.queue_growth_samples = 2;
    alarms.t.queue_growth_min = 10;
    server_options o;
    o.node_name = "warned";
    o.unix_path = dir + "/warned.sock";
    o.alarms = &alarms;
    srv = std::make_unique<server>(rt, o);
  }
  ~warned_node() {
    srv.reset();
    std::filesystem::remove_all(dir);
  }
};

bool has(const json& reply, const std::string& kind, pid who) {
  for (auto& w : reply.at("warnings"))
    if (w.at("kind") == kind && w.at("pid") == fmt::format("{}", who)) return true;
  return false;
}

struct job {};

}  // namespace

TEST_CASE("the warnings op names a process whose oldest message waits too long and drops it once the queue drains") {
  warned_node node;
  pid stuck = node.rt.spawn_fn([](context&, message&) {}, {.name = "stuck"});
  REQUIRE(node.rt.suspend(stuck));
  REQUIRE(eventually([&] { return node.rt.process_info(stuck)->status == process_status::suspended; }));
  node.rt.send(stuck, job{});
  auto c = client::attach_unix(node.srv->unix_path(), "viewer");  // a viewer may ask
  json reply;
  REQUIRE(eventually([&] {
    reply = c.call({{"op", "warnings"}});
    return has(reply, "old_message", stuck);
  }));
  CHECK(reply.at("sample_ms") == 100);
  for (auto& w : reply.at("warnings"))
    if (w.at("kind") == "old_message") {
      CHECK(w.at("name") == "stuck");
      CHECK(w.at("threshold") == 50);
      CHECK(w.at("value").get<std::uint64_t>() >= 50);
      CHECK(w.at("since_ms").get<std::uint64_t>() > 0);
    }
  node.rt.resume(stuck);
  REQUIRE(eventually([&] { return !has(c.call({{"op", "warnings"}}), "old_message", stuck); }));
}

TEST_CASE("the warnings op flags a queue that keeps growing across the node's samples and clears it when it stops") {
  warned_node node;
  pid slow = node.rt.spawn_fn([](context&, message&) {}, {.name = "slow"});
  REQUIRE(node.rt.suspend(slow));
  REQUIRE(eventually([&] { return node.rt.process_info(slow)->status == process_status::suspended; }));
  auto c = client::attach_unix(node.srv->unix_path());
  REQUIRE(eventually([&] {
    for (int i = 0; i < 5; ++i) node.rt.send(slow, job{});  // grows between any two samples
    return has(c.call({{"op", "warnings"}}), "queue_growing", slow);
  }));
  REQUIRE(eventually([&] { return !has(c.call({{"op", "warnings"}}), "queue_growing", slow); }));  // stopped growing
  node.rt.resume(slow);
}

TEST_CASE("the warnings op refuses a row count out of its range with a sentence naming the field") {
  warned_node node;
  auto c = client::attach_unix(node.srv->unix_path());
  try {
    c.call({{"op", "warnings"}, {"n", 0}});
    FAIL("n = 0 was accepted");
  } catch (const client_error& e) {
    CHECK(e.code() == "bad_request");
    CHECK(std::string(e.what()) == "n must be an integer between 1 and 200");
  }
  CHECK(c.call({{"op", "warnings"}, {"n", 5}}).at("warnings").is_array());
}
