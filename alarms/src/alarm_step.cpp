#include "agner/alarms/alarm_step.hpp"

#include <algorithm>

namespace agner::alarms {

std::optional<int> step(const alarm_rule& r, alarm_state& s, double v, std::int64_t now) {
  s.value = v;
  auto raised = [&](const level& l) { return r.above ? v >= l.raise : v <= l.raise; };
  auto holds = [&](const level& l) { return r.above ? v >= l.clear : v <= l.clear; };  // not yet cleared
  int target = -1;
  for (int i = 0; i < static_cast<int>(r.levels.size()); ++i)
    if (raised(r.levels[static_cast<std::size_t>(i)])) target = i;
  // Raising and escalating: the level's condition must hold for for_ms.
  if (target > s.active) {
    if (s.pending != target) {
      s.pending = target;
      s.pending_since = now;
    }
    if (now - s.pending_since >= r.for_ms) {
      s.pending = -1;
      return target;
    }
  } else {
    s.pending = -1;
  }
  if (s.active < 0) return std::nullopt;
  // Clearing and de-escalating: the level stays while its clear condition does not hold, and the
  // way down must hold for hold_ms; a value back above clear cancels it.
  int keep = -1;
  for (int i = 0; i <= s.active; ++i)
    if (holds(r.levels[static_cast<std::size_t>(i)])) keep = i;
  if (keep >= s.active) {
    s.clearing_since = -1;
    return std::nullopt;
  }
  if (s.clearing_since < 0) s.clearing_since = now;
  if (now - s.clearing_since >= r.hold_ms) return keep;
  return std::nullopt;
}

void enter(alarm_state& s, int level, std::int64_t now) {
  if (level > s.active) s.acknowledged = false;  // an escalation needs a new look
  if (s.active < 0) s.raised_at = now;
  s.active = level;
  s.clearing_since = -1;
}

double firing_pressure(const alarm_rule& r, double value) {
  if (r.scaling == r.saturation) return 1;
  return std::max(r.min_pressure, std::clamp((value - r.scaling) / (r.saturation - r.scaling), 0.0, 1.0));
}

}  // namespace agner::alarms
