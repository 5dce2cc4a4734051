#pragma once
/// etop's supervision tree screen (`t`): the node's supervision_tree flattened into indented lines,
/// with collapse and expand as in htop's tree view. Pure: tested without a terminal.
#include <cstddef>
#include <string>
#include <vector>

#include "agner/snapshot/tree.hpp"

namespace agner::etop {

/// One line of the tree screen: a supervisor (a root or a supervisor child) or a worker child.
struct tree_line {
  static constexpr std::size_t no_parent = static_cast<std::size_t>(-1);
  std::size_t depth = 0;          ///< 0 for a root
  std::size_t parent = no_parent; ///< index of its supervisor's line
  std::string key;                ///< stable across refreshes: "<pid>" for a root, else "PARENTPID/ID"
  pid id;                         ///< default when not running
  bool supervisor = false;        ///< a supervisor line: it can collapse
  bool collapsed = false;         ///< its children are hidden (the operator's, or the depth bound's)
  bool near_limit = false;        ///< restarts at 80% of its intensity or more (introspect::near_restart_limit)
  std::string text;               ///< everything after the PID column, indented
};

/// What the tree screen remembers between refreshes.
struct tree_state {
  bool open = false;             ///< the tree is the screen Esc returns to from inspect and help
  std::vector<pid> collapsed;    ///< supervisors the operator collapsed
  std::vector<tree_line> lines;  ///< the last tree, flattened (flatten())
  std::size_t selected = 0, scroll = 0;
  std::string selected_key;      ///< the selected line's key: the selection follows it
  std::string problem;           ///< why the last request failed (an older node: unknown op); empty when it answered
};

/// The tree as lines, roots first, children in start order under their supervisor, two columns of
/// indent per level; the children of a supervisor in `collapsed` are left out. Each line's text:
/// a marker ([-] expanded, [+] collapsed), the child id (and its registered name when it differs),
/// type, restart type and status; a supervisor adds its strategy and `restarts N/MaxR in MaxT s`,
/// `NEAR LIMIT` at 80% of MaxR or more, and what a bound left out. Pure; O(lines).
std::vector<tree_line> flatten(const introspect::supervision_tree& t, const std::vector<pid>& collapsed);

/// After the lines changed: selects the line with `selected_key` again, if it is still there.
void follow_tree_selection(tree_state& s);

/// The tree as text for `etop --batch --tree`: a title line, then a PID column and each line's
/// text, everything expanded. Pure.
std::string render_tree_batch(const introspect::supervision_tree& t);

}  // namespace agner::etop
