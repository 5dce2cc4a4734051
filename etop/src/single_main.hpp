#pragma once
// etop NODE (one node): the interactive view and --batch's process table (docs/etop.md).
#include <cstddef>
#include <string>

#include "agner/etop/groups_state.hpp"
#include "agner/etop/view.hpp"
#include "link.hpp"
#include "trace_link.hpp"

namespace agner::etop {

struct single_options {
  target where;
  double interval = 2;              ///< seconds between refreshes
  column_id sort = column_id::msgq;
  group_column group_sort{};        ///< with groups: the grouped table's sort
  bool groups = false;              ///< start on the grouped table (G)
  bool json = false;                ///< batch: one JSON document a refresh
  int iterations = 1;               ///< batch: refreshes printed
  std::size_t lines = 20;           ///< batch: rows per refresh
  std::string record;               ///< --record FILE
  bool force = false;               ///< --record: overwrite FILE
  trace_request budget;             ///< T's trace budget
};

/// Attaches to one node and runs the view until q; owns the terminal while it runs. Every request
/// to the node runs on a thread of its own (fleet_link), as in the several-nodes view: a refresh
/// waits for its answer at most 0.2 s before the keys are read again, and a node whose request has
/// waited answer_wait_s (the interval, at least 1 s) is NOT ANSWERING: its last rows kept as
/// ~NAME for stale_rows_s, operations and T refused with a sentence, q quits at once; it rejoins
/// when it answers. Throws fatal_error when the node refuses the credentials, std::runtime_error
/// when --record cannot create its file.
int single(const single_options& o);

/// etop --batch NODE: `iterations` refreshes of the process table as text, or with json one
/// document a line ({"node", "processes", "warnings", "rates"}). Each refresh waits at most
/// answer_wait_s for the node: one that has not answered by then is printed not answering (its
/// last rows marked, JSON: mark_not_answering), so each refresh comes out on time. Throws
/// std::runtime_error "cannot read NODE: why" when the node refuses, cannot be reached or does not
/// answer the first refresh.
int single_batch(const single_options& o);

}  // namespace agner::etop
