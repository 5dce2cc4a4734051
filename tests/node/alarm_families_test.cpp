// The alarm engine's /metrics families (node/alarm_families): bounded, ordered, and as docs/metrics.md says.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>

#include <fmt/format.h>

#include "agner/alarms/rules_file.hpp"
#include "alarm_families.hpp"

using namespace agner;

namespace {

const exporter::extra_family& family(const std::vector<exporter::extra_family>& all, const std::string& name) {
  for (auto& f : all)
    if (f.name == name) return f;
  FAIL("no family ", name);
  return all.front();
}

}  // namespace

TEST_CASE("the active alarm series are bounded and the most severe come first, while the count holds them all") {
  auto r = alarms::default_rules();
  alarms::engine e(r, {});
  const std::size_t n = node::alarm_families::max_active_series + 5;
  for (std::size_t i = 0; i < n; ++i) e.set(fmt::format("a{}", i), alarms::severity::minor, "", 1000);
  e.set("worst", alarms::severity::critical, "", 10);  // raised first: still first, by severity
  node::alarm_families families;
  const auto all = families.collect(e);
  CHECK(family(all, "agner_alarms_active").samples.front().second == static_cast<double>(n + 1));
  const auto& active = family(all, "agner_alarm_active");
  REQUIRE(active.samples.size() == node::alarm_families::max_active_series);
  CHECK(active.samples.front().first.at("alarm") == "worst");
  CHECK(active.samples.front().first.at("severity") == "critical");
}

TEST_CASE("every alarm and valve family the node serves is in docs/metrics.md with its type") {
  std::ifstream in(AGNER_SOURCE_DIR "/docs/metrics.md");
  REQUIRE(in);
  std::stringstream doc;
  doc << in.rdbuf();
  alarms::engine e(alarms::default_rules(), {});
  e.valve_named("ingress");
  e.set("x", alarms::severity::major, "", 1);
  node::alarm_families families;
  for (auto& f : families.collect(e)) {
    const std::string row = fmt::format("| `{}` | {} |", f.name, f.counter ? "counter" : "gauge");
    CHECK_MESSAGE(doc.str().find(row) != std::string::npos, f.name, ": docs/metrics.md has no row ", row);
  }
}
