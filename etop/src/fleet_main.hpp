#pragma once
// etop NODE NODE... and etop --all: several nodes in one view (docs/etop.md "Several nodes").
#include <vector>

#include "agner/etop/view.hpp"
#include "link.hpp"

namespace agner::etop {

struct fleet_options {
  std::vector<target> targets;  ///< two or more
  double interval = 2;          ///< seconds between refreshes
  column_id sort = column_id::msgq;
};

/// Attaches to every target (one link each; a node that cannot be reached is shown as such and
/// retried, the others go on) and runs the merged view until q. Owns the terminal while it runs.
/// Every refresh asks each node in turn for its system info and top rows: the cost per node is
/// that of a single-node etop. Throws fatal_error when a node refuses the credentials.
int fleet(const fleet_options& o);

}  // namespace agner::etop
