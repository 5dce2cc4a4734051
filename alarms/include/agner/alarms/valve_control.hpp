#pragma once
/// How a valve follows its alarms, pure: time is passed in, no lock, no atomics. The engine applies
/// these on each tick and stores the results in the valve, where admit() reads them
/// (docs/alarms.md: release_ms, priority class bands, operator overrides).
#include <cstdint>

#include "agner/alarms/engine.hpp"
#include "agner/alarms/rules.hpp"

namespace agner::alarms {

/// A valve's pressure `dt_ms` after it was `current`, heading for `target` (both 0..1): it rises
/// at once and falls by at most dt_ms / release_ms (release_ms below 1 counts as 1), so shedding
/// does not switch off the moment it brings the metric down.
double next_pressure(double current, double target, std::int64_t dt_ms, std::int64_t release_ms);

/// What valve::admit compares its random 32-bit number with for work of class `k` at `pressure`
/// under mode `m`: 0 admits everything, valve::shed_all refuses everything, in between a share.
/// A never_shed class gets 0; open sheds nothing, closed sheds every other class, automatic scales
/// the pressure over the class's band [start, full].
std::uint32_t shed_below(const priority_class& k, double pressure, engine::override_mode m);

}  // namespace agner::alarms
