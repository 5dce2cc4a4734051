#pragma once
/// How etop shows the node's warnings (docs/warnings.md): a '!' before the PID of each warned
/// row, a WARNINGS line in the header, and a list after the table in --batch. Pure.
#include <string>
#include <vector>

#include "agner/snapshot/warning_rows.hpp"

namespace agner::etop {

/// The marker shown before a warned row's pid.
inline constexpr char warning_marker = '!';

/// Several nodes (etop NODE NODE...): `nodes`, when given, names the node of each of `warnings`
/// (same size, same order); a pid is only a process on its own node, so each function below then
/// matches or labels a warning with its node. Null: one node.

/// Whether `who` has a warning among `warnings`; with `nodes`, a warning from `node` only (<0.2.0>
/// on alpha is not <0.2.0> on beta). O(warnings).
bool warned(const std::vector<introspect::warning_row>& warnings, pid who,
            const std::vector<std::string>* nodes = nullptr, const std::string& node = {});

/// The header's line: "WARNINGS (3): <0.2.0> slow_consumer queue_growing, <0.5.0> flaky
/// restart_intensity, ..." (unprintable text escaped), with `nodes` each led by its node ("alpha
/// <0.2.0> slow_consumer old_message"); empty when there are none. O(warnings).
std::string warnings_line(const std::vector<introspect::warning_row>& warnings,
                          const std::vector<std::string>* nodes = nullptr);

/// --batch's list after the table: "WARNINGS:" then one line per warning with its sentence
/// ("! <0.2.0> slow_consumer queue_growing: its queue grew ...", with `nodes` "! alpha <0.2.0> ...");
/// empty when there are none. O(warnings).
std::string warnings_text(const std::vector<introspect::warning_row>& warnings,
                          const std::vector<std::string>* nodes = nullptr);

}  // namespace agner::etop
