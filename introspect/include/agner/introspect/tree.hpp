#pragma once
/// The query that fills the supervision tree (agner/snapshot/tree.hpp: the rows and their codec)
/// from a live runtime (docs/protocol.md, `supervision_tree`).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agner/snapshot/tree.hpp"

namespace agner {
class runtime;
}

namespace agner::introspect {

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

}  // namespace agner::introspect
