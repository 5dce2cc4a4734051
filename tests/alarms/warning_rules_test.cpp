// The "warnings" section of a rules file: defaults, values read, bad values refused and located.
#include <doctest/doctest.h>

#include "agner/alarms/rules.hpp"
#include "rule_errors.hpp"

using namespace agner;
using namespace agner::alarms;

namespace {

std::string errors_of(const std::string& text) { return agner::test::rule_errors(text, "w.json"); }

}  // namespace

TEST_CASE("a rules file without warnings gets the documented default thresholds") {
  auto r = parse_rules(R"({"version": 1})", "w.json");
  REQUIRE(std::holds_alternative<rules>(r));
  CHECK(std::get<rules>(r).warnings == introspect::warning_thresholds{});
  CHECK(std::get<rules>(r).warnings.old_message_ms == 5000);
  CHECK(std::get<rules>(r).warnings.long_handler_ms == 1000);
}

TEST_CASE("the warnings section sets each threshold it names and leaves the others at their defaults") {
  auto r = parse_rules(R"({"version": 1, "warnings": {"sample_ms": 200, "old_message_ms": 750,
                          "queue_growth_samples": 3, "memory_growth_min_bytes": 4096,
                          "restart_intensity_percent": 50, "long_handler_ms": 250}})",
                       "w.json");
  REQUIRE(std::holds_alternative<rules>(r));
  const auto& w = std::get<rules>(r).warnings;
  CHECK(w.sample_ms == 200);
  CHECK(w.old_message_ms == 750);
  CHECK(w.queue_growth_samples == 3);
  CHECK(w.memory_growth_min_bytes == 4096);
  CHECK(w.restart_intensity_percent == 50);
  CHECK(w.long_handler_ms == 250);
  CHECK(w.candidates == 64);
}

TEST_CASE("a warning threshold out of its range is refused with its line column and key") {
  CHECK(errors_of("{\"version\": 1,\n \"warnings\": {\"sample_ms\": 5}}") ==
        "w.json:2:28: /warnings/sample_ms: must be a whole number from 100 to 60000 (ms), not 5");
  CHECK(errors_of(R"({"version": 1, "warnings": {"candidates": 2.5}})") ==
        "w.json:1:43: /warnings/candidates: must be a whole number from 1 to 1000 (processes), not 2.5");
  CHECK(errors_of(R"({"version": 1, "warnings": {"old_message_ms": "5s"}})") ==
        "w.json:1:47: /warnings/old_message_ms: must be a whole number from 1 to 86400000 (ms)");
  CHECK(errors_of(R"({"version": 1, "warnings": {"restart_intensity_percent": 101}})") ==
        "w.json:1:58: /warnings/restart_intensity_percent: must be a whole number from 1 to 100 (percent), not 101");
}

TEST_CASE("an unknown warnings key or a warnings value that is not an object is refused and located") {
  const auto e = errors_of(R"({"version": 1, "warnings": {"old_messages_ms": 10}})");
  CHECK(e.starts_with("w.json:1:29: /warnings/old_messages_ms: unknown key 'old_messages_ms' (known here: sample_ms,"));
  CHECK(errors_of(R"({"version": 1, "warnings": [1]})") ==
        "w.json:1:28: /warnings: must be an object of thresholds (docs/warnings.md)");
}
