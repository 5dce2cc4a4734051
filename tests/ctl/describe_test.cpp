#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "agner/ctl/describe.hpp"

using namespace agner::ctl;
using nlohmann::json;

TEST_CASE("human units for bytes, durations and times") {
  CHECK(human_bytes(512) == "512 B");
  CHECK(human_bytes(1536) == "1.5 KiB");
  CHECK(human_bytes(3ull << 30) == "3.0 GiB");
  CHECK(human_duration(1'500'000'000) == "1.5s");
  CHECK(human_duration(125'000'000'000) == "2m 05s");
  CHECK(human_duration(3'723'000'000'000) == "1h 02m 03s");
  CHECK(human_duration(90'000'000'000'000) == "1d 01h 00m");
  CHECK(utc_time(1796001835462) == "2026-11-30T01:23:55.462Z");
}

TEST_CASE("an alarm line shows id, severity, source, time, acknowledgement and description") {
  const json active = json::parse(R"([{"acknowledged":true,"description":"queue behind","id":"backlog_high",
      "raised_at_ms":1796001835462,"severity":"major","source":"business"}])");
  CHECK(describe_alarms(active) ==
        "backlog_high major source=business raised=2026-11-30T01:23:55.462Z acknowledged: queue behind\n");
  CHECK(describe_alarms(json::array()) == "no active alarms\n");
}

TEST_CASE("strings from the node reach the terminal without raw control characters") {
  const json active = json::parse(R"([{"id":"x\u001b]0;t\u0007","severity":"minor","description":"a\nb\u009b"}])");
  const std::string out = describe_alarms(active);
  CHECK(out.find('\x1b') == std::string::npos);
  CHECK(out.find('\x07') == std::string::npos);
  CHECK(out.find("\xc2\x9b") == std::string::npos);
  CHECK(out.find("x\\x1b]0;t\\x07 minor") != std::string::npos);
  CHECK(out.find("a\\x0ab\\u009b\n") != std::string::npos);
}

TEST_CASE("a history line shows the transition and its value") {
  const json h = json::parse(R"([{"alarm":"x1","at_ms":1796001835462,"from":"inactive","source":"application","to":"minor","value":2.5}])");
  CHECK(describe_history(h) == "2026-11-30T01:23:55.462Z x1 inactive -> minor source=application value=2.5\n");
}

TEST_CASE("a valve line shows pressure, override, mode and counts") {
  const json v = json::parse(R"([{"id":"ingress","offered":20,"override":"closed","pressure":0.25,"shadow":true,"shed":3,"would_shed":4}])");
  CHECK(describe_valves(v) == "ingress pressure=0.25 override=closed mode=shadow offered=20 shed=3 would_shed=4\n");
}

TEST_CASE("the top table names a process by its registered name, else its behaviour") {
  const json rows = json::parse(R"([
      {"pid":"<0.2.0>","registered_name":"slow_consumer","behaviour":"x","message_queue_len":9,"reductions":7,
       "memory_bytes":2048,"gc_runs":1,"oldest_message_age_ms":30,"status":"running"},
      {"pid":"<0.1.0>","registered_name":"","behaviour":"agner::supervisor","status":"waiting"}])");
  const std::string out = describe_top(rows);
  CHECK(out.starts_with("PID "));
  CHECK(out.find("<0.2.0>        slow_consumer") != std::string::npos);
  CHECK(out.find("2.0 KiB") != std::string::npos);
  CHECK(out.find("<0.1.0>        agner::supervisor") != std::string::npos);
}

TEST_CASE("a process that did not answer in time shows its counters only") {
  const json p = json::parse(R"({"pid":"<0.2.0>","registered_name":"slow","status":"running","responsive":false,"state":"x"})");
  const std::string out = describe_process(p);
  CHECK(out.starts_with("<0.2.0> slow\n"));
  CHECK(out.find("did not answer before the deadline") != std::string::npos);
  CHECK(out.find("state:") == std::string::npos);
}

TEST_CASE("a process that answered shows links, state and queued messages") {
  const json p = json::parse(R"({"pid":"<0.0.0>","registered_name":"sup","behaviour":"agner::supervisor","responsive":true,
      "links":["<0.1.0>","<0.2.0>"],"monitors":[],"state":"one_for_one","queue":[{"type":"job","bytes":32,"text":"42"}]})");
  const std::string out = describe_process(p);
  CHECK(out.find("links: <0.1.0>, <0.2.0>\n") != std::string::npos);
  CHECK(out.find("monitors: -\n") != std::string::npos);
  CHECK(out.find("state: one_for_one\n") != std::string::npos);
  CHECK(out.find("queue (1 shown):\n  job 32 B  42\n") != std::string::npos);
}

TEST_CASE("system_info reads as four lines with the active alarms and valves") {
  const json n = json::parse(R"({"name":"demo","uptime_ns":125000000000,"process_count":14,"process_limit":100,
      "run_queue_total":3,"schedulers":[{"busy_ns":1,"wall_ns":4},{"busy_ns":1,"wall_ns":4}],
      "messages":{"sent":10,"delivered":9,"shed":1},"alarms":[{"id":"a","severity":"minor"}],
      "valves":[{"id":"ingress","pressure":0.5}]})");
  const std::string out = describe_node(n);
  CHECK(out.starts_with("node demo: up 2m 05s, 14 of 100 processes, run queue 3, 2 schedulers 25% busy\n"));
  CHECK(out.find("messages: 10 sent, 9 delivered, 1 shed,") != std::string::npos);
  CHECK(out.find("alarms: 1 active: a (minor); valves: ingress 50%\n") != std::string::npos);
}
