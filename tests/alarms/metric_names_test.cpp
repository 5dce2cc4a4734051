// The alarm vocabulary, spelled once: every name a rule may watch has one kind, the parser agrees, severities by name.
#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

#include "agner/alarms/metric_names.hpp"
#include "agner/alarms/rules.hpp"
#include "agner/alarms/system_metrics.hpp"

using namespace agner;
using alarms::metric_kind;

namespace {

bool accepted(std::string_view metric) {
  const std::string text = R"({"version": 1, "alarms": [{"id": "a", "metric": ")" + std::string(metric) +
                           R"(", "levels": [{"severity": "major", "raise": 1, "clear": 0}]}]})";
  auto r = alarms::parse_rules(text, "t.json");
  return std::holds_alternative<alarms::rules>(r);
}

}  // namespace

TEST_CASE("every metric a rule may name has exactly one kind and the rules parser accepts exactly those") {
  for (auto& m : alarms::system_metrics()) CHECK(alarms::kind_of(m.name) == metric_kind::system);
  CHECK(alarms::kind_of(alarms::queue_len_metric) == metric_kind::message_queue_len);
  CHECK(alarms::kind_of(alarms::oldest_message_age_metric) == metric_kind::oldest_message_age);
  CHECK(alarms::kind_of("business:orders_total") == metric_kind::business);
  CHECK(alarms::kind_of("cpu") == metric_kind::unknown);
  CHECK(alarms::kind_of("process:reductions") == metric_kind::unknown);
  CHECK(alarms::per_process(alarms::kind_of(alarms::queue_len_metric)));
  CHECK_FALSE(alarms::per_process(metric_kind::system));
  CHECK(accepted(alarms::queue_len_metric));
  CHECK(accepted(alarms::oldest_message_age_metric));
  CHECK(accepted("business:orders_total"));
  CHECK_FALSE(accepted("cpu"));
  CHECK_FALSE(accepted("process:reductions"));
}

TEST_CASE("a rule may not take the id of the node's own reload alarm") {
  const std::string text = R"({"version": 1, "alarms": [{"id": ")" + std::string(alarms::reload_failed_alarm) +
                           R"(", "metric": "run_queue", "levels": [{"severity": "major", "raise": 1, "clear": 0}]}]})";
  auto r = alarms::parse_rules(text, "t.json");
  auto* errors = std::get_if<std::vector<alarms::rule_error>>(&r);
  REQUIRE(errors);
  CHECK(errors->front().text() == "t.json:1:34: /alarms/0/id: 'rules_reload_failed' is the node's own alarm: choose another id");
}

TEST_CASE("an operator's severity is one of the four names, and any other is refused with a sentence naming it") {
  CHECK(alarms::severity_named("critical") == alarms::severity::critical);
  CHECK(alarms::severity_named("warning") == alarms::severity::warning);
  CHECK_THROWS_WITH_AS(alarms::severity_named("apocalyptic"), "unknown severity 'apocalyptic' (critical, major, minor, warning)",
                       std::invalid_argument);
}
