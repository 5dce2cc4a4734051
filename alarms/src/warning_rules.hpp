#pragma once
// The "warnings" section of a rules file (docs/warnings.md): thresholds for the node's warning
// monitor. rules.cpp calls it with its own located-error reporter.
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "agner/introspect/warning_rows.hpp"

namespace agner::alarms {

/// Reports one problem: the JSON pointer of the culprit, the sentence, and whether to point at the
/// key (an unknown key) rather than its value.
using warning_rule_fail = std::function<void(const std::string& path, std::string message, bool at_key)>;

/// Reads `section` (the value of "warnings", at `path`) into `out`, starting from the defaults;
/// every key is optional, every value a whole number in its documented range; an unknown key, a
/// wrong type or a value out of range is reported through `fail` and leaves that default. O(keys).
void parse_warning_rules(const nlohmann::json& section, const std::string& path, const warning_rule_fail& fail,
                         introspect::warning_thresholds& out);

}  // namespace agner::alarms
