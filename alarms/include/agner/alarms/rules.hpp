#pragma once
/// The alarm rules file (docs/alarms.md): alarms with levels and hysteresis, priority classes and
/// valves. Parsed and validated as a whole; every error names the file, line, column and key path.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "agner/introspect/warning_rows.hpp"

namespace agner::alarms {

enum class severity { warning = 1, minor = 2, major = 3, critical = 4 };
std::string_view to_string(severity s);
/// "critical", "major", "minor", "warning"; nullopt for anything else.
std::optional<severity> parse_severity(std::string_view name);
/// The same, for an operator's request: throws std::invalid_argument "unknown severity 'NAME'
/// (critical, major, minor, warning)" for anything else.
severity severity_named(std::string_view name);

struct level {
  severity sev = severity::warning;
  double raise = 0;  ///< the value at which this level fires (after for_ms)
  double clear = 0;  ///< the value past which it clears (after hold_ms); short of raise: hysteresis
};

struct alarm_rule {
  std::string id;
  /// What it watches: a system metric (run_queue, run_queue_per_scheduler, processes,
  /// process_ratio, resident_bytes, scheduler_utilisation, dead_letters_per_s) or
  /// "business:NAME" for the application's metric NAME (with `labels`), or a per-process metric,
  /// process:message_queue_len or process:oldest_message_age_ms: one alarm per process, checked by
  /// the runtime as messages are queued (one level; its raise and clear are node-wide thresholds).
  std::string metric;
  std::map<std::string, std::string> labels;
  bool above = true;               ///< fires when the value rises above raise (false: falls below)
  std::vector<level> levels;       ///< increasing severity
  std::int64_t for_ms = 0;         ///< the raise condition must hold this long before firing
  std::int64_t hold_ms = 0;        ///< the clear condition must hold this long before clearing
  /// For a business histogram: when > 0, the alarm's value is the mean of the observations made in
  /// the last mean_over_ms milliseconds, (NAME_sum now - then) / (NAME_count now - then), read on
  /// the tick; 0 when nothing was observed in the window. 0 (the default): the metric as it reads.
  std::int64_t mean_over_ms = 0;
  double scaling = 0, saturation = 0;  ///< pressure 0 at scaling, 1 at saturation (both 0: none)
  double min_pressure = 0;         ///< pressure while firing, at least
  std::string description;
};

struct priority_class {
  std::string name;
  bool never_shed = false;  ///< the system class: supervision, introspection, replies
  double start = 0, full = 1;  ///< shed nothing at valve pressure `start`, everything at `full`
};

struct valve_rule {
  std::string id;
  std::vector<std::string> triggers;  ///< alarm ids; the valve's pressure is the highest of theirs
  std::int64_t release_ms = 3000;     ///< pressure rises at once and falls from 1 to 0 over this long
  bool shadow = false;                ///< count what would be shed, shed nothing
};

/// Where alarms are sent as Prometheus alerts (Alertmanager's v2 API), if anywhere.
struct alertmanager_rule {
  std::string url;             ///< http://HOST[:PORT][/PATH] as parse_alertmanager_url takes it (plain HTTP: keep it on loopback or a private network)
  std::int64_t resend_ms = 60000;
  std::map<std::string, std::string> labels;  ///< added to every alert
};

struct rules {
  std::int64_t tick_ms = 250;
  std::optional<alertmanager_rule> alertmanager;
  std::size_t history_size = 1000;
  std::vector<priority_class> classes;
  std::vector<alarm_rule> alarms;
  std::vector<valve_rule> valves;
  introspect::warning_thresholds warnings;  ///< the "warnings" section (docs/warnings.md); defaults without one
};

/// One problem in a rules file.
struct rule_error {
  std::string file;
  int line = 0, column = 0;
  std::string path;     ///< JSON pointer to the offending key, e.g. /alarms/2/levels/0/clear
  std::string message;
  /// "FILE:LINE:COLUMN: PATH: MESSAGE"; no path (the text itself, e.g. not valid JSON):
  /// "FILE:LINE:COLUMN: MESSAGE"; line 0 (the file as a whole): "FILE: MESSAGE"
  std::string text() const;
};

/// A rules file larger than this is refused before it is read.
inline constexpr std::size_t max_rules_bytes = 1 << 20;

/// The rules in `text`, or the errors found in it (`file` only names it in the errors): the first
/// 20, then one "and N more errors". Text nested deeper than 64 objects/arrays, a number outside
/// double's range, invalid JSON and duplicate keys are errors too, located. Never throws but
/// std::bad_alloc. Thread-safe; cost O(text size) plus the located errors.
std::variant<rules, std::vector<rule_error>> parse_rules(std::string_view text, const std::string& file);
/// The same, reading `path` with read_bounded_file (agner/alarms/bounded_file.hpp): a path that is
/// not a regular file of at most max_rules_bytes is one error naming it (line and column 0).
/// Never blocks on the file (a fifo is refused, not opened for reading).
std::variant<rules, std::vector<rule_error>> load_rules(const std::string& path);

}  // namespace agner::alarms
