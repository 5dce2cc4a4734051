#pragma once
/// Human lines from attach-protocol replies (docs/protocol.md), for agner-ctl's default output.
/// Each takes the reply's field as it came over the wire and returns text ending in '\n' (empty
/// input gives a line saying so). Every string from the node goes through visible(), so the text is
/// safe on a terminal. Missing fields read as empty or zero: a newer node's reply still prints.
/// Pure functions: thread-safe, linear in the reply's size.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace agner::ctl {

/// "1.5 KiB", "12.0 MiB": binary units, one decimal past bytes.
std::string human_bytes(std::uint64_t bytes);
/// "3d 04h 05m", "2h 03m 04s", "4m 05s", "12.3s" from nanoseconds.
std::string human_duration(std::uint64_t ns);
/// "2026-11-30T01:20:50.021Z" from wall-clock milliseconds since the epoch.
std::string utc_time(std::uint64_t ms);

/// system_info's `node` object: name, uptime, processes, run queue, scheduler use, messages,
/// memory, GC, and a count of active alarms and valves, on four lines.
std::string describe_node(const nlohmann::json& node);
/// The `active` array of an alarms reply: one line per alarm (id, severity, source, raised at,
/// acknowledged or not, description).
std::string describe_alarms(const nlohmann::json& active);
/// The `history` array of an alarms reply: one line per transition, oldest first.
std::string describe_history(const nlohmann::json& history);
/// The `valves` array of an alarms reply: one line per valve (pressure, override, mode, counts).
std::string describe_valves(const nlohmann::json& valves);
/// The `processes` array of a top reply: a table with a title line, rows as the node ranked them.
std::string describe_top(const nlohmann::json& processes);
/// The `process` object of a process_info reply: counters, then (when it answered) links,
/// monitors, state and its queued messages.
std::string describe_process(const nlohmann::json& process);

}  // namespace agner::ctl
