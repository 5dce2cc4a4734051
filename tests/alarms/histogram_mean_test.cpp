// mean_over_ms: an alarm on a business histogram's recent mean, read from NAME_sum and NAME_count on
// a fake clock (the test says what time it is and what the histogram holds).
#include <doctest/doctest.h>

#include <memory>

#include "agner/alarms/engine.hpp"
#include "agner/exporter/metrics.hpp"

using namespace agner;
using namespace agner::alarms;

namespace {

const char* latency_rules = R"({
  "version": 1,
  "alarms": [
    { "id": "delivery_slow", "metric": "business:delivery_seconds", "mean_over_ms": 10000, "hold_ms": 0,
      "levels": [ {"severity": "major", "raise": 1.0, "clear": 0.5} ] }
  ]
})";

rules parsed(const std::string& text) {
  auto r = parse_rules(text, "test.json");
  if (auto* errors = std::get_if<std::vector<rule_error>>(&r)) {
    for (auto& e : *errors) MESSAGE(e.text());
    FAIL("the rules did not parse");
  }
  return std::get<rules>(r);
}

std::vector<std::string> errors_of(const std::string& text) {
  auto r = parse_rules(text, "bad.json");
  std::vector<std::string> out;
  if (auto* errors = std::get_if<std::vector<rule_error>>(&r))
    for (auto& e : *errors) out.push_back(e.text());
  return out;
}

std::string severity_of(const engine& e, const std::string& id) {
  for (auto& a : e.active())
    if (a.id == id) return a.severity;
  return "inactive";
}

/// The value the alarm's last transition was made at.
double last_value(const engine& e) {
  auto h = e.history();
  return h.empty() ? -1 : h.back().value;
}

}  // namespace

TEST_CASE("an alarm on a histogram's mean over a window fires on recent slow observations and clears when they pass") {
  auto business = std::make_shared<exporter::metrics>();
  auto h = business->make_histogram("delivery_seconds", "Delivery latency.", {0.01, 0.1, 1, 10});
  engine e(parsed(latency_rules), [&](const std::string& m, const std::map<std::string, std::string>& l) {
    return m.starts_with("business:") ? business->value(m.substr(9), l) : std::nullopt;
  });
  // A long fast past: 1,000 observations of 10 ms. The mean since the start would stay low for long.
  for (int i = 0; i < 1000; ++i) h.observe(0.01);
  e.tick(0);
  e.tick(1000);
  CHECK(severity_of(e, "delivery_slow") == "inactive");
  // Then 2 s observations only: the window sees them alone once the fast ones are out of it.
  for (int i = 0; i < 10; ++i) h.observe(2.0);
  e.tick(2000);
  CHECK(severity_of(e, "delivery_slow") == "major");  // the window since 0 has only the ten slow ones
  CHECK(last_value(e) == doctest::Approx(2.0));
  // Fast again: the slow ones leave the window 10 s later and the alarm clears.
  for (int t = 3000; t <= 11000; t += 1000) {
    h.observe(0.01);
    e.tick(t);
  }
  CHECK(severity_of(e, "delivery_slow") == "major");  // the slow ones are still in the window
  for (int t = 12000; t <= 13000; t += 1000) {
    h.observe(0.01);
    e.tick(t);
  }
  CHECK(severity_of(e, "delivery_slow") == "inactive");
}

TEST_CASE("a window with no observation reads 0, and a histogram that is not there leaves the alarm as it is") {
  std::map<std::string, double> values{{"business:x_sum", 30}, {"business:x_count", 10}};
  engine e(parsed(R"({"version": 1, "alarms": [{"id": "x_slow", "metric": "business:x", "mean_over_ms": 1000,
                      "levels": [{"severity": "minor", "raise": 1, "clear": 0.5}]}]})"),
           [&](const std::string& m, const std::map<std::string, std::string>&) -> std::optional<double> {
             auto it = values.find(m);
             return it == values.end() ? std::nullopt : std::optional<double>(it->second);
           });
  e.tick(0);
  values["business:x_sum"] = 60, values["business:x_count"] = 20;  // ten more at 3 s each
  e.tick(500);
  CHECK(severity_of(e, "x_slow") == "minor");
  e.tick(1500);  // the baseline is now the sample at 500: nothing observed since
  e.tick(2600);
  CHECK(severity_of(e, "x_slow") == "inactive");
  values.clear();  // the histogram is gone: no value, no change
  e.tick(3000);
  CHECK(severity_of(e, "x_slow") == "inactive");
}

TEST_CASE("mean_over_ms is refused on a metric that is not a business histogram and outside 1000..600000") {
  auto errors = errors_of(R"({"version": 1, "alarms": [
    {"id": "a", "metric": "run_queue", "mean_over_ms": 5000, "levels": [{"severity": "minor", "raise": 1, "clear": 0}]},
    {"id": "b", "metric": "business:x", "mean_over_ms": 10, "levels": [{"severity": "minor", "raise": 1, "clear": 0}]}]})");
  REQUIRE(errors.size() == 2);
  CHECK(errors[0].find("/alarms/0/mean_over_ms: applies to a business histogram only") != std::string::npos);
  CHECK(errors[1].find("/alarms/1/mean_over_ms: must be between 1000 and 600000 (ms), not 10") != std::string::npos);
}
