#include "agner/alarms/valve_control.hpp"

#include <algorithm>

namespace agner::alarms {

double next_pressure(double current, double target, std::int64_t dt_ms, std::int64_t release_ms) {
  if (target >= current) return target;
  const double fall = static_cast<double>(std::max<std::int64_t>(0, dt_ms)) / static_cast<double>(std::max<std::int64_t>(1, release_ms));
  return std::max(target, current - fall);
}

std::uint32_t shed_below(const priority_class& k, double pressure, engine::override_mode m) {
  if (k.never_shed) return 0;
  const double p = m == engine::override_mode::open     ? 0
                   : m == engine::override_mode::closed ? 1
                                                        : std::clamp((pressure - k.start) / (k.full - k.start), 0.0, 1.0);
  return p >= 1 ? valve::shed_all : static_cast<std::uint32_t>(p * 4294967295.0);
}

}  // namespace agner::alarms
