// Alarms and valves on a fake clock: the test says what time it is.
#include <doctest/doctest.h>

#include "agner/alarms/engine.hpp"

using namespace agner;
using namespace agner::alarms;

namespace {

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

/// A metric the test sets by hand.
struct fake_metrics {
  std::map<std::string, double> values;
  engine::reader reader() {
    return [this](const std::string& m, const std::map<std::string, std::string>&) -> std::optional<double> {
      auto it = values.find(m);
      if (it == values.end()) return std::nullopt;
      return it->second;
    };
  }
};

const char* queue_rules = R"({
  "version": 1,
  "classes": [ {"name": "system", "never_shed": true}, {"name": "critical", "band": [0.9, 1.0]},
               {"name": "normal", "band": [0.5, 0.95]}, {"name": "batch", "band": [0.0, 0.5]} ],
  "alarms": [
    { "id": "run_queue_high", "metric": "run_queue", "for_ms": 1000, "hold_ms": 500,
      "levels": [ {"severity": "minor", "raise": 100, "clear": 80},
                  {"severity": "major", "raise": 200, "clear": 150} ],
      "pressure": {"scaling": 80, "saturation": 280} }
  ],
  "valves": [ {"id": "ingress", "triggers": ["run_queue_high"], "release_ms": 1000} ]
})";

std::string severity_of(const engine& e, const std::string& id) {
  for (auto& a : e.active())
    if (a.id == id) return a.severity;
  return "inactive";
}

}  // namespace

TEST_CASE("an alarm fires only after its condition held for for_ms, and clears with hysteresis after the hold") {
  fake_metrics m;
  engine e(parsed(queue_rules), m.reader());
  m.values["run_queue"] = 120;
  e.tick(0);
  CHECK(severity_of(e, "run_queue_high") == "inactive");  // pending
  m.values["run_queue"] = 90;                              // dips: below raise, pending is reset
  e.tick(500);
  m.values["run_queue"] = 120;
  e.tick(600);
  e.tick(1599);
  CHECK(severity_of(e, "run_queue_high") == "inactive");
  e.tick(1600);  // held since 600
  CHECK(severity_of(e, "run_queue_high") == "minor");
  m.values["run_queue"] = 85;  // below raise, above clear: hysteresis keeps it
  e.tick(5000);
  CHECK(severity_of(e, "run_queue_high") == "minor");
  m.values["run_queue"] = 70;  // below clear: the hold starts
  e.tick(6000);
  CHECK(severity_of(e, "run_queue_high") == "minor");
  m.values["run_queue"] = 81;  // back above clear: the hold is cancelled
  e.tick(6200);
  m.values["run_queue"] = 70;
  e.tick(6400);
  e.tick(6899);
  CHECK(severity_of(e, "run_queue_high") == "minor");
  e.tick(6900);
  CHECK(severity_of(e, "run_queue_high") == "inactive");
  auto h = e.history();
  REQUIRE(h.size() == 2);
  CHECK(h[0].from == "inactive");
  CHECK(h[0].to == "minor");
  CHECK(h[0].at_ms == 1600);
  CHECK(h[1].to == "inactive");
  CHECK(h[1].at_ms == 6900);
}

TEST_CASE("levels escalate after their own for_ms and step down one at a time, escalation clears the ack") {
  fake_metrics m;
  engine e(parsed(queue_rules), m.reader());
  m.values["run_queue"] = 120;
  e.tick(0);
  e.tick(1000);
  CHECK(severity_of(e, "run_queue_high") == "minor");
  CHECK(e.acknowledge("run_queue_high"));
  CHECK(e.active()[0].acknowledged);
  m.values["run_queue"] = 250;
  e.tick(1100);
  CHECK(severity_of(e, "run_queue_high") == "minor");
  e.tick(2100);
  CHECK(severity_of(e, "run_queue_high") == "major");
  CHECK_FALSE(e.active()[0].acknowledged);
  m.values["run_queue"] = 120;  // below major's clear (150), above minor's (80)
  e.tick(3000);
  e.tick(3500);
  CHECK(severity_of(e, "run_queue_high") == "minor");
  CHECK_FALSE(e.acknowledge("no_such_alarm"));
}

TEST_CASE("valve pressure follows the firing alarm, sheds the lowest classes first, never the system class") {
  fake_metrics m;
  engine e(parsed(queue_rules), m.reader());
  valve& v = e.valve_named("ingress");
  const auto system = e.class_index("system"), critical = e.class_index("critical"), normal = e.class_index("normal"),
             batch = e.class_index("batch");
  m.values["run_queue"] = 180;  // pressure (180-80)/200 = 0.5 once firing
  e.tick(0);
  CHECK(v.pressure() == 0);  // pending: shedding cannot start before the alarm fires
  e.tick(1000);
  CHECK(v.pressure() == doctest::Approx(0.5));
  for (int i = 0; i < 1000; ++i) {
    CHECK(v.admit(system));
    CHECK(v.admit(critical));  // band starts at 0.9
    CHECK(v.admit(normal));    // band starts at 0.5: nothing shed yet
    CHECK_FALSE(v.admit(batch));  // band ends at 0.5: all shed
  }
  CHECK(e.acknowledge("run_queue_high"));
  CHECK_FALSE(v.admit(batch));  // acknowledging changes nothing
  auto c = v.count(batch);
  CHECK(c.offered == c.admitted + c.shed);
  CHECK(c.shed == 1001);
}

TEST_CASE("pressure rises at once and falls over release_ms, so shedding does not flap") {
  fake_metrics m;
  engine e(parsed(queue_rules), m.reader());
  valve& v = e.valve_named("ingress");
  m.values["run_queue"] = 280;
  e.tick(0);
  e.tick(1000);
  CHECK(v.pressure() == doctest::Approx(1.0));
  m.values["run_queue"] = 10;  // the alarm clears after its 500 ms hold
  e.tick(1100);
  e.tick(1600);
  CHECK(severity_of(e, "run_queue_high") == "inactive");
  // While the alarm still fired (its hold), its pressure followed the value down to 0, so the
  // valve has been falling since 1000 at 1/1000 a ms: 0.4 left at 1600.
  CHECK(v.pressure() == doctest::Approx(0.4));
  e.tick(2000);
  CHECK(v.pressure() == 0);
}

TEST_CASE("shadow mode counts what would be shed and sheds nothing, an override holds until it expires") {
  fake_metrics m;
  std::string text = queue_rules;
  text.replace(text.find("\"release_ms\": 1000}"), 19, "\"release_ms\": 1000, \"mode\": \"shadow\"}");
  engine e(parsed(text), m.reader());
  valve& v = e.valve_named("ingress");
  const auto batch = e.class_index("batch"), normal = e.class_index("normal");
  m.values["run_queue"] = 280;
  e.tick(0);
  e.tick(1000);
  for (int i = 0; i < 100; ++i) CHECK(v.admit(batch));
  CHECK(v.count(batch).would_shed == 100);
  CHECK(v.count(batch).shed == 0);

  engine e2(parsed(queue_rules), m.reader());
  valve& v2 = e2.valve_named("ingress");
  CHECK(e2.override_valve("ingress", engine::override_mode::open, 5000));
  e2.tick(0);
  e2.tick(1000);
  CHECK(v2.admit(batch));  // open: the operator says let everything in
  e2.tick(5000);           // the override expired: automatic again
  CHECK_FALSE(v2.admit(batch));
  m.values["run_queue"] = 0;
  e2.tick(6000);
  e2.tick(9000);
  CHECK(v2.admit(normal));
  CHECK(e2.override_valve("ingress", engine::override_mode::closed, 20000));
  e2.tick(9100);
  CHECK_FALSE(v2.admit(normal));
  CHECK(v2.admit(e2.class_index("system")));
  CHECK_FALSE(e2.override_valve("no_such_valve", engine::override_mode::open, 1));
}

TEST_CASE("a reload keeps the state of alarms whose ids stay") {
  fake_metrics m;
  engine e(parsed(queue_rules), m.reader());
  m.values["run_queue"] = 120;
  e.tick(0);
  e.tick(1000);
  e.acknowledge("run_queue_high");
  std::string text = queue_rules;
  text.replace(text.find("\"hold_ms\": 500"), 14, "\"hold_ms\": 900");
  text.replace(text.find("\"alarms\": ["), 11, R"("alarms": [ { "id": "dead_letters", "metric": "dead_letters_per_s", "levels": [{"severity": "warning", "raise": 10}] },)");
  e.reload(parsed(text));
  CHECK(severity_of(e, "run_queue_high") == "minor");
  CHECK(e.active()[0].acknowledged);
  m.values["run_queue"] = 0;
  e.tick(2000);
  e.tick(2899);
  CHECK(severity_of(e, "run_queue_high") == "minor");  // the new hold
  e.tick(2900);
  CHECK(severity_of(e, "run_queue_high") == "inactive");
}

TEST_CASE("programmatic alarms are set, updated and cleared by the application") {
  engine e(parsed(R"({"version": 1})"), {});
  e.set("disk_full", severity::major, "/var is 97% full", 10);
  e.set("disk_full", severity::critical, "/var is 99% full", 20);
  auto a = e.active();
  REQUIRE(a.size() == 1);
  CHECK(a[0].source == "application");
  CHECK(a[0].severity == "critical");
  CHECK(a[0].description == "/var is 99% full");
  CHECK(a[0].raised_at_ms == 10);
  CHECK(e.clear("disk_full", 30));
  CHECK(e.active().empty());
  CHECK_FALSE(e.clear("disk_full", 40));
  CHECK(e.history().size() == 3);
}

TEST_CASE("an application alarm's id reaches the node's log visibly, whatever it holds") {
  std::vector<std::string> lines;
  engine e(parsed(R"({"version": 1})"), {}, [&](std::string_view l) { lines.emplace_back(l); });
  e.set("b\u202eevil\nagner: FORGED\x1b[2J", severity::minor, "", 10);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0] == "alarm b\\u202eevil\\x0aagner: FORGED\\x1b[2J (application): inactive -> minor (value 0)");
}

TEST_CASE("each kind of error in a rules file is reported with file:line:column and key path") {
  CHECK(errors_of("{\n  \"version\": 1,\n  \"alarms\": [\n}") ==
        std::vector<std::string>{"bad.json:4:1: not valid JSON: syntax error while parsing value - unexpected '}'; expected '[', '{', or a literal"});
  const std::string bad = R"({
  "version": 1,
  "tick_ms": 250,
  "alarms": [
    { "id": "q", "metric": "run_queue", "levels": [ {"severity": "minor", "raise": 100, "clear": 120} ] },
    { "id": "q", "metric": "nonsense", "levles": [], "levels": [ {"severity": "huge", "raise": "high"} ] },
    { "id": "r", "metric": "run_queue", "levels": [ {"severity": "major", "raise": 100}, {"severity": "minor", "raise": 50} ],
      "pressure": {"scaling": 10, "saturation": 5} }
  ],
  "valves": [ {"id": "v", "triggers": ["q", "ghost"], "mode": "loud"} ]
})";
  const auto e = errors_of(bad);
  const std::vector<std::string> expected{  // in file order
      "bad.json:5:98: /alarms/0/levels/0/clear: must be at most raise (100) for an alarm above its threshold",
      "bad.json:6:13: /alarms/1/id: alarm id 'q' is used twice",
      "bad.json:6:28: /alarms/1/metric: unknown metric 'nonsense' (system metrics: dead_letters_per_s, process_ratio, processes, resident_bytes, run_queue, run_queue_per_scheduler, scheduler_utilisation; or business:NAME; or process:message_queue_len, process:oldest_message_age_ms)",
      "bad.json:6:40: /alarms/1/levles: unknown key 'levles' (known here: id, metric, labels, direction, levels, for_ms, hold_ms, mean_over_ms, pressure, description)",
      "bad.json:6:79: /alarms/1/levels/0/severity: unknown severity 'huge' (critical, major, minor, warning)",
      "bad.json:6:96: /alarms/1/levels/0/raise: must be a number",
      "bad.json:7:103: /alarms/2/levels/1/severity: levels must go up in severity",
      "bad.json:7:121: /alarms/2/levels/1/raise: must be higher than the previous level's raise (100)",
      "bad.json:8:49: /alarms/2/pressure/saturation: scaling (10) must be less than saturation (5)",
      "bad.json:10:45: /valves/0/triggers/1: no alarm has id 'ghost'",
      "bad.json:10:63: /valves/0/mode: must be \"enforce\" or \"shadow\"",
  };
  CHECK(e.size() == expected.size());
  for (std::size_t i = 0; i < std::min(e.size(), expected.size()); ++i) CHECK(e[i] == expected[i]);
  CHECK(errors_of(R"({"version": 2, "tick_ms": 1})") ==
        std::vector<std::string>{"bad.json:1:13: /version: must be 1", "bad.json:1:27: /tick_ms: must be between 10 and 86400000 (a day)"});
  CHECK(errors_of(R"({"version": 1, "tick_ms": 250.5})") ==
        std::vector<std::string>{"bad.json:1:27: /tick_ms: must be a whole number of milliseconds"});
}

#include <atomic>
#include <latch>

#include "agner/runtime/runtime.hpp"
#include "support.hpp"

TEST_CASE("overload through a valve: with shedding the queue stays bounded, without it grows, offered == admitted + shed") {
  // A pool that handles nothing (suspended) is the worst case, and makes the figures exact.
  const char* text = R"({"version": 1, "alarms": [ {"id": "backlog", "metric": "business:backlog", "for_ms": 100,
      "levels": [ {"severity": "major", "raise": 1000, "clear": 100} ], "pressure": {"scaling": 100, "saturation": 2000} } ],
    "valves": [ {"id": "ingress", "triggers": ["backlog"], "release_ms": 1000, "mode": "MODE"} ] })";
  for (const std::string mode : {"enforce", "shadow"}) {
    std::string rules_text = text;
    rules_text.replace(rules_text.find("MODE"), 4, mode);
    runtime rt(test::two_schedulers());
    pid pool = rt.spawn_fn([](context&, message&) {});
    rt.suspend(pool);
    REQUIRE(test::eventually([&] { return rt.process_info(pool)->status == process_status::suspended; }));
    engine e(parsed(rules_text), [&](const std::string&, const std::map<std::string, std::string>&) -> std::optional<double> {
      return static_cast<double>(rt.process_info(pool)->message_queue_len);
    });
    valve& v = e.valve_named("ingress");
    const auto cls = e.class_index("normal");
    std::uint64_t offered = 0, admitted = 0;
    for (std::int64_t t = 0; t <= 2000; t += 50) {  // 40 rounds of 500 offers, a tick between rounds
      for (int i = 0; i < 500; ++i, ++offered)
        if (v.admit(cls)) {
          ++admitted;
          rt.send(pool, i);
        }
      REQUIRE(test::eventually([&] { return rt.process_info(pool)->message_queue_len == admitted; }));
      e.tick(t);
    }
    const auto c = v.count(cls);
    CHECK(c.offered == offered);
    CHECK(c.offered == c.admitted + c.shed);
    if (mode == "enforce") {
      // Fired at the third tick (for 100 ms), then pressure grows with the queue: admitted work stops
      // well short of what was offered.
      CHECK(admitted < 4000);
      CHECK(c.shed > 16000);
    } else {
      CHECK(admitted == offered);  // nothing shed: the queue holds everything offered
      CHECK(c.would_shed > 16000);
    }
    MESSAGE(mode, ": offered ", offered, ", admitted ", admitted, ", shed ", c.shed, ", would shed ", c.would_shed);
    rt.exit(pool, "kill");
  }
}

TEST_CASE("per-process alarms start from the runtime's queue watch and keep for_ms and hold_ms") {
  engine e(parsed(R"({"version": 1, "alarms": [
      {"id": "long_message_queue", "metric": "process:message_queue_len", "for_ms": 100, "hold_ms": 200,
       "levels": [{"severity": "warning", "raise": 5000, "clear": 500}], "pressure": {"scaling": 500, "saturation": 10500}},
      {"id": "old_messages", "metric": "process:oldest_message_age_ms", "levels": [{"severity": "minor", "raise": 2000, "clear": 100}]}
    ], "valves": [{"id": "ingress", "triggers": ["long_message_queue"], "release_ms": 1}]})"),
           {});
  const auto t = e.process_thresholds();
  CHECK(t.long_len == 5000);
  CHECK(t.short_len == 500);
  CHECK(t.old_ms == 2000);
  CHECK(t.young_ms == 100);
  e.process_event("process:message_queue_len", "<0.2.0> matcher", true, 5000, 0);
  e.process_event("process:message_queue_len", "<0.3.0>", true, 5000, 0);
  e.process_event("process:message_queue_len", "<0.3.0>", false, 400, 50);  // short again before it fired
  e.tick(50);
  CHECK(e.active().empty());
  e.tick(100);
  auto a = e.active();
  REQUIRE(a.size() == 1);
  CHECK(a[0].id == "long_message_queue");
  CHECK(a[0].source == "<0.2.0> matcher");
  CHECK(e.valve_named("ingress").pressure() == doctest::Approx(0.45));  // (5000 - 500) / 10000
  e.process_event("process:message_queue_len", "<0.2.0> matcher", false, 300, 150);
  e.tick(349);
  CHECK(e.active().size() == 1);  // the hold
  e.tick(350);
  CHECK(e.active().empty());
  CHECK(e.history().back().source == "<0.2.0> matcher");
  CHECK(errors_of(R"({"version": 1, "alarms": [{"id": "q", "metric": "process:message_queue_len",
      "levels": [{"severity": "minor", "raise": 10}, {"severity": "major", "raise": 20}]}]})") ==
        std::vector<std::string>{"bad.json:2:17: /alarms/0/levels: a per-process alarm has one level, above its threshold"});
}

TEST_CASE("the runtime's shed points: a gated spawn or send by name is refused, counted, and says why") {
  runtime rt(test::two_schedulers());
  engine e(parsed(queue_rules), {});
  valve& ingress = e.valve_named("ingress");
  std::atomic<int> got{0};
  rt.spawn_fn([&](context&, message&) { ++got; }, spawn_options{.name = "matcher"});
  rt.gate_spawns(&ingress, e.class_index("batch"));
  rt.gate_sends("matcher", &ingress, e.class_index("normal"));
  rt.spawn_fn([](context&, message&) {});  // open: admitted
  CHECK(rt.send("matcher", 1));
  e.override_valve("ingress", engine::override_mode::closed, 1'000'000);
  e.tick(0);
  try {
    rt.spawn_fn([](context&, message&) {});
    FAIL("the spawn should have been refused");
  } catch (const spawn_error& err) {
    CHECK(err.why() == spawn_error::reason::overloaded);
    CHECK(std::string(err.what()) == "cannot spawn: overloaded (valve ingress), retry later");
  }
  CHECK(rt.spawn_with<fn_behaviour<void (*)(context&, message&)>>(
            spawn_options{.priority = static_cast<int>(e.class_index("system"))}, [](context&, message&) {}));
  CHECK_FALSE(rt.send("matcher", 2));  // refused at the producer
  CHECK_FALSE(rt.send("matcher", 3));
  REQUIRE(test::eventually([&] { return got.load() == 1; }));
  auto m = rt.messages();
  CHECK(m.shed == 2);
  CHECK(test::eventually([&] {
    auto c = rt.messages();
    return c.sent == c.delivered + c.shed + c.dropped + c.dead_letters;
  }));
  CHECK(ingress.count(e.class_index("normal")).shed == 2);
  rt.gate_spawns(nullptr, 0);
  rt.gate_sends("matcher", nullptr, 0);
  CHECK(rt.send("matcher", 4));
}
