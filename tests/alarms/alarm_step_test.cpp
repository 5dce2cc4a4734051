// One alarm's state machine, driven by hand: values and times in, moves out.
#include <doctest/doctest.h>

#include "agner/alarms/alarm_step.hpp"

using namespace agner::alarms;

namespace {

alarm_rule two_levels() {
  alarm_rule r;
  r.id = "busy";
  r.levels = {{severity::minor, 10, 5}, {severity::major, 20, 15}};
  r.for_ms = 100;
  r.hold_ms = 50;
  return r;
}

/// step, then enter what it returns: the level after the tick.
int tick(const alarm_rule& r, alarm_state& s, double v, std::int64_t now) {
  if (auto level = step(r, s, v, now)) enter(s, *level, now);
  return s.active;
}

}  // namespace

TEST_CASE("an alarm step raises after for_ms, escalates after its own for_ms and steps down after hold_ms") {
  const auto r = two_levels();
  alarm_state s;
  CHECK(tick(r, s, 12, 0) == -1);  // pending
  CHECK(tick(r, s, 12, 99) == -1);
  CHECK(tick(r, s, 12, 100) == 0);
  CHECK(s.raised_at == 100);
  s.acknowledged = true;
  CHECK(tick(r, s, 25, 200) == 0);  // the major level's own wait begins
  CHECK(tick(r, s, 25, 300) == 1);
  CHECK_FALSE(s.acknowledged);  // an escalation needs a new look
  CHECK(tick(r, s, 17, 400) == 1);  // past clear (15): still major, hysteresis
  CHECK(tick(r, s, 12, 410) == 1);  // below the major clear: the hold begins
  CHECK(tick(r, s, 16, 440) == 1);  // back above clear: the hold is cancelled
  CHECK(tick(r, s, 12, 450) == 1);
  CHECK(tick(r, s, 12, 499) == 1);
  CHECK(tick(r, s, 12, 500) == 0);  // one step down
  CHECK(tick(r, s, 1, 600) == 0);
  CHECK(tick(r, s, 1, 650) == -1);
  CHECK(s.value == 1);
}

TEST_CASE("a below alarm fires when its value falls and a value that dips for less than for_ms never fires") {
  alarm_rule r;
  r.above = false;
  r.levels = {{severity::warning, 2, 4}};
  r.for_ms = 100;
  alarm_state s;
  CHECK(tick(r, s, 1, 0) == -1);
  CHECK(tick(r, s, 3, 50) == -1);  // back up: the wait is off
  CHECK(tick(r, s, 1, 120) == -1);  // a new wait from 120
  CHECK(tick(r, s, 1, 220) == 0);
}

TEST_CASE("a firing alarm's pressure is 1 without a band, scaled within it and at least min_when_firing") {
  alarm_rule r;
  CHECK(firing_pressure(r, 123) == 1);
  r.scaling = 10, r.saturation = 20;
  CHECK(firing_pressure(r, 15) == doctest::Approx(0.5));
  CHECK(firing_pressure(r, 30) == 1);
  CHECK(firing_pressure(r, 0) == 0);
  r.min_pressure = 0.2;
  CHECK(firing_pressure(r, 0) == doctest::Approx(0.2));
}
