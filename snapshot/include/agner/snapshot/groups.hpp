#pragma once
/// Processes grouped by what they are (docs/protocol.md, `groups`): the rows of a `groups` answer
/// and their JSON codec, and the short form of a type name that names a group. Part of
/// agner::snapshot (header-only, no runtime); the query that fills them is agner/introspect/groups.hpp.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace agner::introspect {

/// A C++ type name in its short form, as etop's NAME OR BEHAVIOUR column shows it:
/// "agner::node::(anonymous namespace)::slow_consumer" -> "slow_consumer"; template arguments
/// become "<…>" ("agner::fn_behaviour<lambda>" -> "fn_behaviour<…>"). Pure; O(length).
inline std::string short_type(std::string s) {
  for (std::size_t at; (at = s.find("(anonymous namespace)::")) != std::string::npos;) s.erase(at, 23);
  if (auto lt = s.find('<'); lt != std::string::npos) s = s.substr(0, lt) + "<…>";
  const auto cut = s.rfind("::", s.find('<'));
  return cut == std::string::npos ? s : s.substr(cut + 2);
}

/// One group's figures, summed over its processes as one scan saw them.
struct group_row {
  std::string group;                        ///< "user_sup_*", "match:*", "slow_consumer", ...
  std::uint64_t processes = 0;              ///< processes in the group
  std::uint64_t message_queue_len = 0;      ///< messages queued, summed
  std::uint64_t max_message_queue_len = 0;  ///< the longest queue in the group
  std::uint64_t memory_bytes = 0;           ///< summed (as process_row::memory_bytes)
  std::uint64_t reductions = 0;             ///< reductions since each process started, summed
  std::uint64_t reductions_in_window = 0;   ///< reductions over the window (see group_window), summed
  std::uint64_t gc_runs = 0;                ///< collections (minor + major), summed
  bool operator==(const group_row&) const = default;
};

/// What a `groups` query answers: the first `n` groups by the sort key, and totals over all of them.
struct groups_result {
  std::vector<group_row> groups;
  std::uint64_t processes = 0;     ///< processes the scan saw: the sum of every group's count
  std::uint64_t total_groups = 0;  ///< groups found (before the first n were kept)
  std::uint64_t window_ms = 0;     ///< the window's length; 0 on the first call (counts since each start)
  bool groups_capped = false;      ///< more than max_groups distinct groups: the rest are in "(other)"
  bool operator==(const groups_result&) const = default;
};

/// The rows as the protocol sends them (docs/protocol.md, `groups`), and back. from_json throws
/// nlohmann::json exceptions on a missing field or a wrong type (the client reports bad_reply).
nlohmann::json to_json(const group_row& g);
nlohmann::json to_json(const groups_result& r);
group_row group_row_from_json(const nlohmann::json& j);
groups_result groups_result_from_json(const nlohmann::json& j);

// Definitions (inline: the library is header-only).

inline nlohmann::json to_json(const group_row& g) {
  return {{"group", g.group},
          {"processes", g.processes},
          {"message_queue_len", g.message_queue_len},
          {"max_message_queue_len", g.max_message_queue_len},
          {"memory_bytes", g.memory_bytes},
          {"reductions", g.reductions},
          {"reductions_in_window", g.reductions_in_window},
          {"gc_runs", g.gc_runs}};
}

inline nlohmann::json to_json(const groups_result& r) {
  nlohmann::json rows = nlohmann::json::array();
  for (auto& g : r.groups) rows.push_back(to_json(g));
  return {{"groups", std::move(rows)},
          {"processes", r.processes},
          {"total_groups", r.total_groups},
          {"window_ms", r.window_ms},
          {"groups_capped", r.groups_capped}};
}

inline group_row group_row_from_json(const nlohmann::json& j) {
  group_row g;
  g.group = j.at("group").get<std::string>();
  g.processes = j.at("processes").get<std::uint64_t>();
  g.message_queue_len = j.at("message_queue_len").get<std::uint64_t>();
  g.max_message_queue_len = j.at("max_message_queue_len").get<std::uint64_t>();
  g.memory_bytes = j.at("memory_bytes").get<std::uint64_t>();
  g.reductions = j.at("reductions").get<std::uint64_t>();
  g.reductions_in_window = j.at("reductions_in_window").get<std::uint64_t>();
  g.gc_runs = j.at("gc_runs").get<std::uint64_t>();
  return g;
}

inline groups_result groups_result_from_json(const nlohmann::json& j) {
  groups_result r;
  for (auto& g : j.at("groups")) r.groups.push_back(group_row_from_json(g));
  r.processes = j.at("processes").get<std::uint64_t>();
  r.total_groups = j.at("total_groups").get<std::uint64_t>();
  r.window_ms = j.at("window_ms").get<std::uint64_t>();
  r.groups_capped = j.at("groups_capped").get<bool>();
  return r;
}

}  // namespace agner::introspect
