// How a valve follows its alarms: pressure release and each class's shed threshold.
#include <doctest/doctest.h>

#include "agner/alarms/valve_control.hpp"

using namespace agner::alarms;
using mode = engine::override_mode;

TEST_CASE("valve pressure rises at once and falls at most one per release_ms") {
  CHECK(next_pressure(0.2, 0.9, 10, 3000) == 0.9);
  CHECK(next_pressure(1.0, 0.0, 1500, 3000) == doctest::Approx(0.5));
  CHECK(next_pressure(1.0, 0.7, 1500, 3000) == doctest::Approx(0.7));  // never below the target
  CHECK(next_pressure(0.5, 0.0, -20, 3000) == 0.5);                     // a clock step back changes nothing
  CHECK(next_pressure(0.5, 0.0, 1, 0) == 0);                            // release_ms 0 counts as 1
}

TEST_CASE("a class sheds by its band, never the system class, and an override opens or closes every other class") {
  const priority_class system{"system", true, 0, 1}, batch{"batch", false, 0, 0.5}, normal{"normal", false, 0.5, 1};
  CHECK(shed_below(system, 1, mode::automatic) == 0);
  CHECK(shed_below(system, 0, mode::closed) == 0);
  CHECK(shed_below(batch, 0.5, mode::automatic) == valve::shed_all);
  CHECK(shed_below(batch, 0.25, mode::automatic) == doctest::Approx(4294967295.0 / 2).epsilon(1e-6));
  CHECK(shed_below(normal, 0.5, mode::automatic) == 0);
  CHECK(shed_below(normal, 1, mode::open) == 0);
  CHECK(shed_below(normal, 0, mode::closed) == valve::shed_all);
}
