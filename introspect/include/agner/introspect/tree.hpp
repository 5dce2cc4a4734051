#pragma once
/// The supervision tree as an operator reads it (observer's Applications tab): supervisors with
/// their strategy, restart intensity and what of it is used, and their children, nested. Plain
/// data, its JSON codec, and the query that fills it from a live runtime (docs/protocol.md,
/// `supervision_tree`).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agner/runtime/pid.hpp"

namespace agner {
class runtime;
}

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
};

/// A supervision_tree answer.
struct supervision_tree {
  std::vector<tree_supervisor> roots;  ///< the asked root, or every supervisor no live supervisor started
  std::uint64_t supervisors = 0;       ///< supervisors alive on the node
  std::uint64_t roots_total = 0;       ///< roots there are; `roots` may hold fewer (count bound)
  std::uint64_t entries = 0;           ///< supervisor and child lines in `roots`
  bool truncated = false;              ///< a bound cut something (see the flags inside)
};

/// The bounds of one walk.
struct tree_options {
  std::optional<pid> root;        ///< this supervisor only; nullopt: every root
  /// Levels of supervisors expanded (1: the roots and their children only). The wire caps it at 10:
  /// each level nests three JSON levels, and a frame nests at most 32.
  std::size_t depth = 8;
  std::size_t max_entries = 1000; ///< supervisor and child lines at most
  std::chrono::milliseconds deadline{200};  ///< total wait for supervisors busy in a handler
};

/// Walks the tree from its roots, depth first, children in start order, within `o`'s bounds.
/// Thread-safe (not from a handler). Cost: one copy of the list of supervisors, then for each
/// supervisor shown a read of its published state under its own lock (at most the children still
/// within max_entries are copied), and an O(1) process lookup per child for its status and name;
/// no message, no table scan, no supervisor stopped. A supervisor inside a handler is waited for
/// within `o.deadline` in all, then shown unresponsive. An `o.root` that is no live supervisor
/// gives no roots (callers check first with is_supervisor).
supervision_tree walk_supervision_tree(const runtime& rt, const tree_options& o);

/// Whether `p` is a live supervisor. Thread-safe; O(log supervisors).
bool is_supervisor(const runtime& rt, pid p);

/// As JSON for the wire (pids as "<0.5.1>", null when not running), and back. The reverse throws
/// nlohmann::json::exception on a malformed document, and refuses nesting past 64 levels.
nlohmann::json to_json(const supervision_tree& t);
supervision_tree supervision_tree_from_json(const nlohmann::json& j);

/// True when `restarts` of `intensity` is near the limit: at least 80% of it (4 of 5, 1 of 1), so
/// a few more failures shut the supervisor down. Never for an intensity of 0.
bool near_restart_limit(std::uint64_t restarts, std::int64_t intensity);

}  // namespace agner::introspect
