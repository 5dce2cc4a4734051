#pragma once
/// For tests: the errors parse_rules finds in a rules text, one a line ("" when it is good), so a
/// failed CHECK prints them.
#include <string>
#include <variant>
#include <vector>

#include "agner/alarms/rules.hpp"

namespace agner::test {

inline std::string rule_errors(const std::string& text, const std::string& file) {
  auto r = alarms::parse_rules(text, file);
  std::string out;
  if (auto* errors = std::get_if<std::vector<alarms::rule_error>>(&r))
    for (auto& e : *errors) out += (out.empty() ? "" : "\n") + e.text();
  return out;
}

}  // namespace agner::test
