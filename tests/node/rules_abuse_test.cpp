// Hostile rules files against agner-node itself: --check-rules refuses each with its location, and a
// reload of each (SIGHUP and reload_rules) leaves the node up, answering, with the old rules.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "node_support.hpp"
#include "support.hpp"

using namespace agner;
using namespace agner::test;

namespace {

const char* good_rules = R"({"version": 1, "alarms": [
  {"id": "busy", "metric": "processes", "levels": [{"severity": "warning", "raise": 1000000}]}
], "valves": [{"id": "ingress", "triggers": ["busy"]}]})";

std::string one_alarm(const std::string& id, const std::string& metric, const std::string& raise = "10") {
  return R"({"version": 1, "alarms": [{"id": ")" + id + R"(", "metric": ")" + metric +
         R"(", "levels": [{"severity": "warning", "raise": )" + raise + "}]}]}";
}

/// A hostile rules file: how to put it at `path`, and what its first error line says after the path.
struct hostile {
  std::string name;
  std::function<void(const std::string& path)> make;
  std::string expected;  // the first error, after "<path>"
};

void write_text(const std::string& path, const std::string& text) {
  std::filesystem::remove_all(path);
  std::ofstream(path) << text;
}

std::vector<hostile> hostile_files() {
  std::string nine_classes;
  for (int i = 0; i < 8; ++i) nine_classes += std::string(i ? "," : "") + R"({"name": "c)" + std::to_string(i) + R"(", "band": [0, 1]})";
  std::string many_errors = R"({"version": 1, "alarms": [{})";
  for (int i = 0; i < 50'000; ++i) many_errors += ",{}";
  many_errors += "]}";
  auto text = [](std::string t) { return [t](const std::string& p) { write_text(p, t); }; };
  return {
      {"a number past double", text("{\"version\": 1e400}"), ":1:13: the number 1e400 is out of range"},
      {"100,000 nested brackets", text(std::string(100'000, '[')), ":1:65: nested deeper than 64 levels of objects and arrays"},
      {"a fifo", [](const std::string& p) { std::filesystem::remove_all(p); REQUIRE(::mkfifo(p.c_str(), 0600) == 0); },
       " is a fifo, not a regular file"},
      {"a symlink to /dev/zero", [](const std::string& p) { std::filesystem::remove_all(p); std::filesystem::create_symlink("/dev/zero", p); },
       " is a character device, not a regular file"},
      {"a directory", [](const std::string& p) { std::filesystem::remove_all(p); std::filesystem::create_directory(p); },
       " is a directory, not a regular file"},
      {"nine classes", text(R"({"version": 1, "classes": [)" + nine_classes + "]}"), ":1:245: /classes/7: too many classes"},
      {"an empty metric", text(one_alarm("a", "")), ":1:49: /alarms/0/metric: must not be empty"},
      {"an empty business name", text(one_alarm("a", "business:")), ":1:49: /alarms/0/metric: names no business metric"},
      {"an empty class name", text(R"({"version": 1, "classes": [{"name": "", "band": [0, 1]}]})"), ":1:37: /classes/0/name: must not be empty"},
      {"a per-process raise past 32 bits", text(one_alarm("q", "process:message_queue_len", "5e9")),
       ":1:122: /alarms/0/levels/0/raise: a per-process threshold must be between 0 and 4294967295"},
      {"the reserved id", text(one_alarm("rules_reload_failed", "processes")), ":1:34: /alarms/0/id: 'rules_reload_failed' is the node's own alarm"},
      {"a duplicate key", text("{\"version\": 1,\n \"tick_ms\": 100, \"tick_ms\": 200}"), ":2:18: /tick_ms: this key is given twice"},
      {"150,000 errors", text(many_errors), ":1:27: /alarms/0: 'id' is missing"},
  };
}

}  // namespace

TEST_CASE("--check-rules refuses every hostile rules file with its location, at once") {
  temp_dir dir;
  const std::string path = dir.path + "/rules.json";
  for (auto& h : hostile_files()) {
    CAPTURE(h.name);
    h.make(path);
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(run({AGNER_NODE_BIN, "--check-rules", path}, dir.path + "/err") == 1);
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(60));  // bounded work; generous for a loaded machine
    const auto err = slurp(dir.path + "/err");
    CHECK(err.find(path + h.expected) == 0);
    if (h.name == "150,000 errors") CHECK(err.find(path + ": and 149983 more errors") != std::string::npos);
  }
}

TEST_CASE("a reload of a hostile rules file, by SIGHUP or reload_rules, keeps the node up with the old rules") {
  temp_dir dir;
  const std::string path = dir.path + "/rules.json";
  write_text(path, good_rules);
  node_process node({"--rules", path, "--workload", "none"});
  auto c = node.attach();
  auto failure = [&]() -> std::string {
    const auto reply = c.call({{"op", "alarms"}});  // kept: a range over a temporary's member dangles
    for (auto& a : reply["active"])
      if (a["id"] == "rules_reload_failed") return a["description"].get<std::string>();
    return "";
  };
  for (auto& h : hostile_files()) {
    CAPTURE(h.name);
    h.make(path);
    // SIGHUP: the signal only asks; the reload's outcome shows as rules_reload_failed.
    ::kill(node.pid, SIGHUP);
    CHECK(eventually([&] { return failure().find(path + h.expected) == 0; }, std::chrono::seconds(30)));
    CHECK(c.call({{"op", "alarms"}})["valves"][0]["id"] == "ingress");  // the old rules are in force
    // reload_rules answers with the errors, from the attach thread, at once.
    const auto t0 = std::chrono::steady_clock::now();
    const auto reply = c.call({{"op", "reload_rules"}});
    CHECK(reply["reloaded"] == false);
    CHECK(reply["errors"][0].get<std::string>().find(path + h.expected) == 0);
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(30));
  }
  write_text(path, good_rules);
  CHECK(c.call({{"op", "reload_rules"}})["reloaded"] == true);
  CHECK(failure().empty());
  CHECK(node.stop(SIGTERM) == 0);
}
