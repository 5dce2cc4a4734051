// Hostile rules files: each is refused with a located sentence, quickly, without a crash.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "agner/alarms/bounded_file.hpp"
#include "agner/alarms/rules.hpp"

using namespace agner;
using namespace agner::alarms;

namespace {

std::vector<std::string> error_list(const std::string& text) {
  auto r = parse_rules(text, "bad.json");
  std::vector<std::string> out;
  if (auto* errors = std::get_if<std::vector<rule_error>>(&r))
    for (auto& e : *errors) out.push_back(e.text());
  return out;
}

/// The errors, one a line (so a failed CHECK prints them).
std::string errors_of(const std::string& text) {
  std::string out;
  for (auto& e : error_list(text)) out += (out.empty() ? "" : "\n") + e;
  return out;
}

/// One alarm on `metric` with one level at `raise`, inside a version 1 file.
std::string one_alarm(const std::string& id, const std::string& metric, const std::string& raise = "10") {
  return R"({"version": 1, "alarms": [{"id": ")" + id + R"(", "metric": ")" + metric +
         R"(", "levels": [{"severity": "warning", "raise": )" + raise + "}]}]}";
}

struct temp_dir {
  std::string path;
  temp_dir() {
    char tmpl[] = "/tmp/agner-rules-file-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~temp_dir() { std::filesystem::remove_all(path); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path + "/" + name) << text;
    return path + "/" + name;
  }
};

}  // namespace

TEST_CASE("a number outside double range is a located error, not an exception") {
  CHECK(errors_of("{\"version\": 1e400}") == "bad.json:1:13: the number 1e400 is out of range");
  CHECK(errors_of("{\"version\": 1,\n \"tick_ms\": -1e999}") ==
        "bad.json:2:13: the number -1e999 is out of range");
  CHECK(errors_of("{\"version\": 1, \"tick_ms\": 1e300}") ==
        "bad.json:1:27: /tick_ms: must be between 10 and 86400000 (a day)");
}

TEST_CASE("nesting deeper than 64 is refused at once, located, however deep it goes") {
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(errors_of(std::string(100'000, '[')) ==
        "bad.json:1:65: nested deeper than 64 levels of objects and arrays");
  std::string deep_valid = "{\"version\": 1, \"x\": " + std::string(100'000, '[') + std::string(100'000, ']') + "}";
  CHECK(errors_of(deep_valid) == "bad.json:1:84: nested deeper than 64 levels of objects and arrays");
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(30));  // bounded work; generous for a loaded machine
  // Brackets inside strings are text, not nesting.
  CHECK(errors_of(R"({"version": 1, "x": ")" + std::string(1000, '[') + "\"}") ==
        "bad.json:1:16: /x: unknown key 'x' (known here: version, tick_ms, history_size, classes, alarms, valves, notify, warnings)");
}

TEST_CASE("errors are capped at 20 and the rest counted") {
  std::string many = R"({"version": 1, "alarms": [)";
  for (int i = 0; i < 100'000; ++i) many += i ? ",{}" : "{}";
  many += "]}";
  const auto e = error_list(many);
  REQUIRE(e.size() == 21);
  CHECK(e[0] == "bad.json:1:27: /alarms/0: 'id' is missing");
  CHECK(e[20] == "bad.json: and 299980 more errors");
}

TEST_CASE("duplicate keys are refused where the second one is") {
  CHECK(errors_of("{\"version\": 1,\n \"tick_ms\": 100, \"tick_ms\": 200}") ==
        "bad.json:2:18: /tick_ms: this key is given twice (the first would be silently ignored)");
  CHECK(errors_of(R"({"version": 1, "alarms": [{"id": "a", "metric": "processes", "levels": [{"severity": "warning", "raise": 1, "raise": 2}]}]})") ==
        "bad.json:1:109: /alarms/0/levels/0/raise: this key is given twice (the first would be silently ignored)");
  // A key written with escapes is located as nlohmann reads it: the second copy, the key itself.
  CHECK(errors_of("{\"version\": 1,\n \"tick_ms\": 100, \"tick\\u005fms\": 200}") ==
        "bad.json:2:18: /tick_ms: this key is given twice (the first would be silently ignored)");
  CHECK(errors_of("{\"version\": 1,\n  \"bo\\u0041gus\": 1}").starts_with("bad.json:2:3: /boAgus: unknown key 'boAgus'"));
  CHECK(errors_of("{\"version\": 1, \"alarms\": [\n {\"extra\\n\": 1}]}").find(
            "bad.json:2:3: /alarms/0/extra\\x0a: unknown key 'extra\\x0a'") != std::string::npos);
}

TEST_CASE("accepted-but-wrong rules are refused: empty metric, empty business name, empty class, reserved id") {
  CHECK(errors_of(one_alarm("a", "")) ==
        "bad.json:1:49: /alarms/0/metric: must not be empty (a system metric, business:NAME or a process: metric)");
  CHECK(errors_of(one_alarm("a", "business:")) ==
        "bad.json:1:49: /alarms/0/metric: names no business metric: write business:NAME");
  CHECK(errors_of(one_alarm("a", "business:orders\\u001b[2J")) ==
        "bad.json:1:49: /alarms/0/metric: 'orders\\x1b[2J' is not a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)");
  CHECK(errors_of(one_alarm("a", "business:9lives")) ==
        "bad.json:1:49: /alarms/0/metric: '9lives' is not a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)");
  CHECK(errors_of(one_alarm("rules_reload_failed", "processes")) ==
        "bad.json:1:34: /alarms/0/id: 'rules_reload_failed' is the node's own alarm: choose another id");
  CHECK(errors_of(R"({"version": 1, "classes": [{"name": "", "band": [0, 1]}]})") ==
        "bad.json:1:37: /classes/0/name: must not be empty");
}

TEST_CASE("a ninth priority class is refused, not silently dropped") {
  std::string classes;
  for (int i = 0; i < 8; ++i) {
    if (i) classes += ",";
    classes += R"({"name": "c)" + std::to_string(i) + R"(", "band": [0, 1]})";
  }
  const auto e = error_list(R"({"version": 1, "classes": [)" + classes + "]}");
  REQUIRE(e.size() == 1);
  CHECK(e[0].find("/classes/7: too many classes: at most 8, the system class included (added when not declared)") != std::string::npos);
  // Eight with the system class among them is fine.
  classes = R"({"name": "system", "never_shed": true})";
  for (int i = 0; i < 7; ++i) classes += R"(,{"name": "c)" + std::to_string(i) + R"(", "band": [0, 1]})";
  CHECK(errors_of(R"({"version": 1, "classes": [)" + classes + "]}") == "");
}

TEST_CASE("a per-process threshold that does not fit 32 bits is refused") {
  CHECK(errors_of(one_alarm("q", "process:message_queue_len", "5e9")) ==
        "bad.json:1:122: /alarms/0/levels/0/raise: a per-process threshold must be between 0 and 4294967295 (the runtime keeps it in 32 bits), not 5000000000");
  CHECK(errors_of(one_alarm("q", "process:message_queue_len", "4294967295")) == "");
}

TEST_CASE("control characters from the file are shown escaped, so an error stays one line") {
  const auto e = error_list("{\"version\": 1, \"evil\\u001b]0;x\\u0007\\n\": 1}");
  REQUIRE(e.size() == 1);
  CHECK(e[0].find("unknown key 'evil\\x1b]0;x\\x07\\x0a'") != std::string::npos);
  CHECK(e[0].find('\n') == std::string::npos);
}

TEST_CASE("C1 controls and bytes that are not UTF-8 are shown escaped too, other UTF-8 as it is") {
  const auto c1 = error_list("{\"version\": 1, \"k\\u009b2J\u00e9\": 1}");
  REQUIRE(c1.size() == 1);
  CHECK(c1[0].find("unknown key 'k\\u009b2J\u00e9'") != std::string::npos);
  const auto bad = error_list("{\"version\": 1, \"b\xff\": 2}");
  REQUIRE_FALSE(bad.empty());
  CHECK(bad[0].find('\xff') == std::string::npos);
  CHECK(bad[0].find("\\xff") != std::string::npos);
}

TEST_CASE("read_bounded_file refuses a fifo, a device, a directory and a file past its bound, without blocking") {
  temp_dir dir;
  const auto fifo = dir.path + "/fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto f = read_bounded_file(fifo, 1000);  // no writer: a blocking open would wait for ever
  CHECK_FALSE(f.text);
  CHECK(f.error == fifo + " is a fifo, not a regular file");
  std::filesystem::create_symlink("/dev/zero", dir.path + "/zero.json");
  f = read_bounded_file(dir.path + "/zero.json", 1000);
  CHECK(f.error == dir.path + "/zero.json is a character device, not a regular file");
  f = read_bounded_file(dir.path, 1000);
  CHECK(f.error == dir.path + " is a directory, not a regular file");
  f = read_bounded_file(dir.path + "/missing", 1000);
  CHECK(f.error == "cannot open " + dir.path + "/missing: No such file or directory");
  const auto big = dir.write("big", std::string(1001, 'x'));
  f = read_bounded_file(big, 1000);
  CHECK(f.error == big + " is 1001 bytes, more than the 1000 allowed");
  const auto fits = dir.write("fits", std::string(1000, 'x'));
  f = read_bounded_file(fits, 1000);
  REQUIRE(f.text);
  CHECK(f.text->size() == 1000);
}

TEST_CASE("load_rules names the file that is not a regular file, as one error") {
  temp_dir dir;
  const auto fifo = dir.path + "/rules.json";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto r = load_rules(fifo);
  auto* errors = std::get_if<std::vector<rule_error>>(&r);
  REQUIRE(errors);
  REQUIRE(errors->size() == 1);
  CHECK(errors->front().text() == fifo + " is a fifo, not a regular file");
  const auto huge = dir.write("huge.json", std::string(max_rules_bytes + 1, ' '));
  r = load_rules(huge);
  REQUIRE(std::get_if<std::vector<rule_error>>(&r));
  CHECK(std::get<std::vector<rule_error>>(r).front().text() == huge + " is 1048577 bytes, more than the 1048576 allowed");
}
