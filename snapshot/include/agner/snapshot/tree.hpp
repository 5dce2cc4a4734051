#pragma once
/// The supervision tree as an operator reads it (observer's Applications tab): supervisors with
/// their strategy, restart intensity and what of it is used, and their children, nested. Plain
/// data and its JSON codec (docs/protocol.md, `supervision_tree`); part of agner::snapshot
/// (header-only, no runtime). The query that fills it from a live runtime is
/// agner/introspect/tree.hpp.
#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "agner/snapshot/pid.hpp"

namespace agner::introspect {

struct tree_supervisor;

/// One child of a supervisor.
struct tree_child {
  std::string id;               ///< its child_spec id
  pid current;                  ///< default pid when not running
  std::string registered_name;  ///< empty when none (or not running)
  std::string restart;          ///< permanent, transient or temporary
  std::string type;             ///< worker or supervisor
  std::string status;           ///< the process's status (running, waiting, ...), or not_running
  /// A supervisor child's own node (zero or one entry): empty when it is a worker, not running,
  /// or below the depth bound (then `depth_truncated`).
  std::vector<tree_supervisor> below;
  bool depth_truncated = false;  ///< a running supervisor the depth bound left unexpanded
  bool operator==(const tree_child&) const = default;
};

/// One supervisor and its children in start order.
struct tree_supervisor {
  pid id;
  std::string registered_name;
  /// False when it stayed inside a handler past the wait: only `id` and the name are known.
  bool responsive = true;
  std::string strategy;          ///< one_for_one, one_for_all, rest_for_one
  std::int64_t intensity = 0;    ///< MaxR: restarts allowed within period_ms
  std::int64_t period_ms = 0;    ///< MaxT, in milliseconds
  std::uint64_t restarts = 0;    ///< restarts within the last period_ms (one past intensity shuts it down)
  bool stopping = false;         ///< stopping children for a restart or its own shutdown
  std::uint64_t child_count = 0; ///< all its children; `children` may hold fewer (`truncated`)
  bool truncated = false;        ///< the count bound left some children out
  std::vector<tree_child> children;
  bool operator==(const tree_supervisor&) const = default;
};

/// A supervision_tree answer.
struct supervision_tree {
  std::vector<tree_supervisor> roots;  ///< the asked root, or every supervisor no live supervisor started
  std::uint64_t supervisors = 0;       ///< supervisors alive on the node
  std::uint64_t roots_total = 0;       ///< roots there are; `roots` may hold fewer (count bound)
  std::uint64_t entries = 0;           ///< supervisor and child lines in `roots`
  bool truncated = false;              ///< a bound cut something (see the flags inside)
  bool operator==(const supervision_tree&) const = default;
};

/// As JSON for the wire (pids as "<0.5.1>", null when not running), and back. The reverse throws
/// nlohmann::json::exception on a malformed document, and refuses nesting past 64 levels.
nlohmann::json to_json(const supervision_tree& t);
supervision_tree supervision_tree_from_json(const nlohmann::json& j);

/// True when `restarts` of `intensity` is near the limit: at least 80% of it (4 of 5, 1 of 1), so
/// a few more failures shut the supervisor down. Never for an intensity of 0.
bool near_restart_limit(std::uint64_t restarts, std::int64_t intensity);

// Definitions (inline: the library is header-only).

namespace tree_detail {

inline std::string pid_text(pid p) { return fmt::format("{}", p); }

inline pid pid_from(const nlohmann::json& j) {
  if (j.is_null()) return pid{};
  auto p = parse_pid(j.get<std::string>());
  if (!p) throw nlohmann::json::other_error::create(501, "a pid is not of the form <0.I.S>", &j);
  return *p;
}

inline nlohmann::json supervisor_json(const tree_supervisor& s) {
  nlohmann::json j{{"pid", pid_text(s.id)}, {"name", s.registered_name}, {"responsive", s.responsive}};
  if (!s.responsive) return j;
  j["strategy"] = s.strategy;
  j["intensity"] = s.intensity;
  j["period_ms"] = s.period_ms;
  j["restarts"] = s.restarts;
  j["stopping"] = s.stopping;
  j["child_count"] = s.child_count;
  j["truncated"] = s.truncated;
  nlohmann::json children = nlohmann::json::array();
  for (auto& c : s.children) {
    nlohmann::json row{{"id", c.id},         {"pid", c.current ? nlohmann::json(pid_text(c.current)) : nlohmann::json()},
                       {"name", c.registered_name}, {"restart", c.restart}, {"type", c.type}, {"status", c.status}};
    if (!c.below.empty()) row["supervisor"] = supervisor_json(c.below.front());
    if (c.depth_truncated) row["depth_truncated"] = true;
    children.push_back(std::move(row));
  }
  j["children"] = std::move(children);
  return j;
}

inline tree_supervisor supervisor_from(const nlohmann::json& j, int depth) {
  if (depth > 64) throw nlohmann::json::other_error::create(502, "the tree nests deeper than 64 supervisors", &j);
  tree_supervisor s;
  s.id = pid_from(j.at("pid"));
  s.registered_name = j.value("name", "");
  s.responsive = j.at("responsive").get<bool>();
  if (!s.responsive) return s;
  s.strategy = j.at("strategy").get<std::string>();
  s.intensity = j.at("intensity").get<std::int64_t>();
  s.period_ms = j.at("period_ms").get<std::int64_t>();
  s.restarts = j.at("restarts").get<std::uint64_t>();
  s.stopping = j.value("stopping", false);
  s.child_count = j.at("child_count").get<std::uint64_t>();
  s.truncated = j.value("truncated", false);
  for (auto& c : j.at("children")) {
    tree_child row;
    row.id = c.at("id").get<std::string>();
    row.current = pid_from(c.at("pid"));
    row.registered_name = c.value("name", "");
    row.restart = c.at("restart").get<std::string>();
    row.type = c.at("type").get<std::string>();
    row.status = c.at("status").get<std::string>();
    row.depth_truncated = c.value("depth_truncated", false);
    if (c.contains("supervisor")) row.below.push_back(supervisor_from(c.at("supervisor"), depth + 1));
    s.children.push_back(std::move(row));
  }
  return s;
}

}  // namespace tree_detail

inline nlohmann::json to_json(const supervision_tree& t) {
  nlohmann::json roots = nlohmann::json::array();
  for (auto& s : t.roots) roots.push_back(tree_detail::supervisor_json(s));
  return {{"roots", std::move(roots)},      {"supervisors", t.supervisors}, {"roots_total", t.roots_total},
          {"entries", t.entries},           {"truncated", t.truncated}};
}

inline supervision_tree supervision_tree_from_json(const nlohmann::json& j) {
  supervision_tree t;
  for (auto& s : j.at("roots")) t.roots.push_back(tree_detail::supervisor_from(s, 1));
  t.supervisors = j.at("supervisors").get<std::uint64_t>();
  t.roots_total = j.at("roots_total").get<std::uint64_t>();
  t.entries = j.at("entries").get<std::uint64_t>();
  t.truncated = j.at("truncated").get<bool>();
  return t;
}

inline bool near_restart_limit(std::uint64_t restarts, std::int64_t intensity) {
  return intensity > 0 && restarts > 0 && restarts * 5 >= static_cast<std::uint64_t>(intensity) * 4;
}

}  // namespace agner::introspect
