#pragma once
/// How etop shows the node's warnings (docs/warnings.md): a '!' before the PID of each warned
/// row, a WARNINGS line in the header, and a list after the table in --batch. Pure.
#include <string>
#include <vector>

#include "agner/snapshot/warning_rows.hpp"

namespace agner::etop {

/// The marker shown before a warned row's pid.
inline constexpr char warning_marker = '!';

/// Whether `who` has a warning among `warnings`. O(warnings).
bool warned(const std::vector<introspect::warning_row>& warnings, pid who);

/// The header's line: "WARNINGS (3): <0.2.0> slow_consumer queue_growing, <0.5.0> flaky
/// restart_intensity, ..." (unprintable text escaped); empty when there are none. O(warnings).
std::string warnings_line(const std::vector<introspect::warning_row>& warnings);

/// --batch's list after the table: "WARNINGS:" then one line per warning with its sentence
/// ("! <0.2.0> slow_consumer queue_growing: its queue grew ..."); empty when there are none.
std::string warnings_text(const std::vector<introspect::warning_row>& warnings);

}  // namespace agner::etop
