#pragma once
/// One alarm's state machine, pure: time is passed in, no lock, no log, no metric read. The engine
/// keeps one alarm_state per rule (and per rule and process), feeds it values on the tick and
/// notes the moves it returns (docs/alarms.md: levels, hysteresis, for_ms, hold_ms, pressure).
#include <cstdint>
#include <deque>
#include <optional>
#include <string>

#include "agner/alarms/rules.hpp"

namespace agner::alarms {

/// An alarm between ticks. Plain value; the engine's lock guards it.
struct alarm_state {
  int active = -1;   ///< index into the rule's levels; -1 inactive
  int pending = -1;  ///< the level waiting out for_ms; -1 none
  std::int64_t pending_since = 0, clearing_since = -1, raised_at = 0;  ///< wall-clock ms; clearing_since -1: not clearing
  double value = 0;  ///< the last value read
  bool acknowledged = false;
  severity programmatic = severity::warning;  ///< an application alarm's severity
  std::string description;                    ///< an application alarm's description
  /// mean_over_ms: {time, NAME_sum, NAME_count} read on each tick of the window, oldest first;
  /// at most mean_over_ms / tick_ms + 1 of them.
  struct histogram_sample {
    std::int64_t at;
    double sum, count;
  };
  std::deque<histogram_sample> samples;
};

/// Where alarm `s` of rule `r` goes now that its value reads `v` at `now_ms`: the level to enter
/// (an index into r.levels; -1 clears), or nullopt to stay. A higher level is entered once its
/// raise condition held for for_ms; a lower one once the current level's clear condition failed
/// for hold_ms (a value back past clear cancels the wait). Updates `s`'s value and timers, not its
/// level: call enter() with what it returns. O(levels).
std::optional<int> step(const alarm_rule& r, alarm_state& s, double v, std::int64_t now_ms);
/// Puts `s` at `level` at `now_ms`: an escalation clears the acknowledgement, a raise sets
/// raised_at, and any move ends a clearing wait.
void enter(alarm_state& s, int level, std::int64_t now_ms);
/// The pressure a firing alarm of rule `r` puts on its valves at `value`: 1 without a pressure
/// band (scaling == saturation), else 0 at scaling to 1 at saturation, and at least min_pressure.
double firing_pressure(const alarm_rule& r, double value);

}  // namespace agner::alarms
