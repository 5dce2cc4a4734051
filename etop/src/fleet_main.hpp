#pragma once
// etop NODE NODE... and etop --all: several nodes in one view (docs/etop.md "Several nodes").
#include <string>
#include <vector>

#include "agner/etop/view.hpp"
#include "link.hpp"

namespace agner::etop {

struct fleet_options {
  std::vector<target> targets;  ///< two or more
  double interval = 2;          ///< seconds between refreshes
  column_id sort = column_id::msgq;
  bool json = false;       ///< batch: one JSON document a refresh
  int iterations = 1;      ///< batch: refreshes printed
  std::size_t lines = 20;  ///< batch: rows per refresh, over all nodes
  std::string record;      ///< --record FILE: every refresh of the merged view (one node's view: none)
  bool force = false;      ///< --record: overwrite FILE
};

/// Attaches to every target (one link each, on a thread of its own; a node that cannot be reached
/// is shown as such and retried, the others go on) and runs the merged view until q. Owns the
/// terminal while it runs. Every refresh asks every node at once for its system info and top rows
/// (the cost per node is that of a single-node etop) and waits at most answer_wait_s for them: a
/// node that has not answered is marked not answering, its last rows kept stale_rows_s (fleet.hpp).
/// The keys never wait on a node for more than 0.2 s; q never waits on a silent one. Throws
/// fatal_error when a node refuses the credentials.
int fleet(const fleet_options& o);

/// etop --batch NODE NODE...: `iterations` refreshes of the merged table as text (a NODE column,
/// the summed header and the nodes line) or, with json, one document a line:
/// {"nodes": [{"name", "attached", "problem", "node"}], "processes": [{"node": NAME, ...}],
/// "rates": {...}}. A node that cannot be read is reported in its entry and left out; one that has
/// not answered within answer_wait_s is reported not answering (its last rows kept and marked), so
/// each refresh takes at most the interval plus that wait. Throws std::runtime_error naming every
/// node's problem when none can be read at the first refresh.
int fleet_batch(const fleet_options& o);

}  // namespace agner::etop
