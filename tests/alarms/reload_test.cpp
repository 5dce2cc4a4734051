// The rules file as a node lives with it: the defaults without one, startup errors, reloads.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "agner/alarms/metric_names.hpp"
#include "agner/alarms/rules_file.hpp"

using namespace agner;

namespace {

struct rules_path {
  std::string path = (std::filesystem::temp_directory_path() / ("agner-reload-" + std::to_string(::getpid()) + ".json")).string();
  void write(const std::string& text) const { std::ofstream(path) << text; }
  ~rules_path() { std::filesystem::remove(path); }
};

std::vector<std::string> class_names(const std::vector<alarms::priority_class>& classes) {
  std::vector<std::string> out;
  for (auto& c : classes) out.push_back(c.name + (c.never_shed ? "!" : "") + ":" + std::to_string(c.start) + "-" + std::to_string(c.full));
  return out;
}

bool active(const alarms::engine& e, std::string_view id) {
  for (auto& a : e.active())
    if (a.id == id) return true;
  return false;
}

const char* one_alarm = R"({"version": 1, "alarms": [{"id": "busy", "metric": "run_queue",
  "levels": [{"severity": "major", "raise": 10, "clear": 5}]}]})";

}  // namespace

TEST_CASE("a node without a rules file has the priority classes of a rules file without classes") {
  auto parsed = alarms::parse_rules(R"({"version": 1})", "t.json");
  REQUIRE(std::holds_alternative<alarms::rules>(parsed));
  const auto& from_file = std::get<alarms::rules>(parsed);
  CHECK(class_names(from_file.classes) == class_names(alarms::default_classes()));
  CHECK(class_names(alarms::default_rules().classes) == class_names(from_file.classes));
  CHECK(class_names(alarms::startup_rules("").classes) == class_names(from_file.classes));
  CHECK(alarms::default_classes().front().never_shed);  // the system class comes first, never shed
}

TEST_CASE("a rules file with errors at start is refused with every error, one a line") {
  rules_path f;
  f.write(R"({"version": 1, "tick_ms": -1, "alarms": 3})");
  std::string what;
  try {
    alarms::startup_rules(f.path);
  } catch (const std::runtime_error& e) {
    what = e.what();
  }
  CHECK(what.starts_with("the rules file has errors:\n  " + f.path + ":1:"));
  CHECK(what.find("/tick_ms") != std::string::npos);
  CHECK(what.find("/alarms") != std::string::npos);
  CHECK(alarms::check_rules_file(f.path).size() == 2);
}

TEST_CASE("a bad reload keeps the old rules and raises rules_reload_failed and a good one clears it") {
  rules_path f;
  f.write(one_alarm);
  std::vector<std::string> logged;
  const auto log = [&](std::string_view line) { logged.emplace_back(line); };
  alarms::engine e(alarms::startup_rules(f.path), [](auto&, auto&) { return std::optional<double>(20); }, log);
  e.tick(0);
  REQUIRE(active(e, "busy"));
  f.write(R"({"version": 1, "alarms": [{"id": "busy"}]})");
  auto bad = alarms::reload_rules(e, f.path, log, 100);
  REQUIRE(std::holds_alternative<std::vector<std::string>>(bad));
  CHECK(active(e, "busy"));  // the old rules, and their state, stay
  CHECK(active(e, alarms::reload_failed_alarm));
  CHECK(logged.size() >= 2);
  f.write(one_alarm);
  auto good = alarms::reload_rules(e, f.path, log, 200);
  REQUIRE(std::holds_alternative<alarms::rules>(good));
  CHECK(std::get<alarms::rules>(good).alarms.size() == 1);
  CHECK(active(e, "busy"));  // kept across the reload
  CHECK_FALSE(active(e, alarms::reload_failed_alarm));
  CHECK(logged.back() == "rules reloaded from " + f.path);
}
