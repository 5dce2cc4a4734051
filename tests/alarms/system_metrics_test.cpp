// The alarms' system-metric table: values over two node snapshots, and the names rules accept.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include "agner/alarms/rules.hpp"
#include "agner/alarms/system_metrics.hpp"

using namespace agner;

TEST_CASE("system metrics are computed over two snapshots a tick apart") {
  introspect::node_info before, now;
  before.schedulers = {{}, {}};
  before.schedulers[0].busy_ns = 100, before.schedulers[0].wall_ns = 1000;
  before.schedulers[1].busy_ns = 0, before.schedulers[1].wall_ns = 1000;
  before.messages.dead_letters = 10;
  now = before;
  now.schedulers[0].busy_ns += 500, now.schedulers[0].wall_ns += 1000;  // half busy
  now.schedulers[1].busy_ns += 0, now.schedulers[1].wall_ns += 1000;    // idle
  now.messages.dead_letters = 30;
  now.process_count = 50, now.process_limit = 200;
  now.run_queue_total = 6;
  now.memory.resident_bytes = 4096;
  const auto m = alarms::sample_system(now, before, 2.0);
  CHECK(m.at("dead_letters_per_s") == doctest::Approx(10));  // 20 over 2 s
  CHECK(m.at("scheduler_utilisation") == doctest::Approx(0.25));
  CHECK(m.at("processes") == 50);
  CHECK(m.at("process_ratio") == doctest::Approx(0.25));
  CHECK(m.at("run_queue") == 6);
  CHECK(m.at("run_queue_per_scheduler") == 3);
  CHECK(m.at("resident_bytes") == 4096);
  CHECK(m.size() == alarms::system_metrics().size());
  // A counter that went back (a restarted runtime) gives no negative rate.
  CHECK(alarms::sample_system(before, now, 1.0).at("dead_letters_per_s") == 0);
}

TEST_CASE("the table is sorted by name and rules accept each of its metrics") {
  auto all = alarms::system_metrics();
  CHECK(std::is_sorted(all.begin(), all.end(), [](auto& a, auto& b) { return a.name < b.name; }));
  for (auto& m : all) {
    CHECK(alarms::find_system_metric(m.name) == &m);
    const std::string text = std::string(R"({"version": 1, "alarms": [{"id": "a", "metric": ")") + std::string(m.name) +
                             R"(", "levels": [{"severity": "major", "raise": 1, "clear": 0}]}]})";
    auto r = alarms::parse_rules(text, "t.json");
    auto* errors = std::get_if<std::vector<alarms::rule_error>>(&r);
    CHECK_MESSAGE(!errors, m.name, " is refused by the rules parser: ", errors ? errors->front().text() : "");
  }
  CHECK(alarms::find_system_metric("cpu") == nullptr);
}
