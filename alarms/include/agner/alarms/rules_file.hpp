#pragma once
/// The rules file as a node lives with it (docs/alarms.md): the defaults without one, the rules at
/// start, a reload that keeps the old rules on errors, and --check-rules.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "agner/alarms/engine.hpp"
#include "agner/alarms/rules.hpp"

namespace agner::alarms {

/// The priority classes of a rules file without "classes", and of a node without a rules file:
/// system (never shed), then normal (band [0, 1]). The one place they are set. Pure.
std::vector<priority_class> default_classes();
/// The rules of a node without a rules file: what parse_rules makes of `{"version": 1}`
/// (default_classes(), no alarms, no valves). Pure.
rules default_rules();
/// Each error's text() ("FILE:LINE:COLUMN: PATH: MESSAGE"), in order.
std::vector<std::string> error_lines(const std::vector<rule_error>& errors);

/// The errors of the rules file `path` as lines; empty when it is good (agner-node --check-rules).
/// Reads the file once (load_rules: bounded, never blocks on a fifo). Thread-safe.
std::vector<std::string> check_rules_file(const std::string& path);
/// The rules a node starts with: those in `path`, or default_rules() when `path` is empty.
/// Throws std::runtime_error "the rules file has errors:" followed by every error, one per line.
rules startup_rules(const std::string& path);

/// Reloads `e` from `path`. On errors the old rules stay in force, the reload_failed_alarm is
/// raised (major, the first error as its description) and every error is logged; the error lines
/// are returned. On success `e` takes the new rules (state kept for ids that stay), the
/// reload_failed_alarm clears, "rules reloaded from PATH" is logged, and the rules now in force are
/// returned (for what the node wires from them). `log` is called on the caller's thread.
/// Thread-safe as far as `e` is (one reload at a time is the caller's choice); reads the file once.
std::variant<rules, std::vector<std::string>> reload_rules(engine& e, const std::string& path,
                                                            const std::function<void(std::string_view)>& log,
                                                            std::int64_t now_ms);

}  // namespace agner::alarms
