#pragma once
// etop's command line (docs/etop.md, "Flags"): its options, and the parsing that checks every value
// and turns NODE arguments into targets. Main thread only.
#include <optional>
#include <string>
#include <vector>

#include "agner/etop/render.hpp"
#include "link.hpp"
#include "trace_link.hpp"

namespace agner::etop {

struct options {
  target where;
  double interval = 2;
  bool batch = false, json = false, groups = false, tree = false;
  int iterations = 1;
  std::size_t lines = 20;
  std::string sort = "msgq", inspect;
  std::string record, replay;  ///< --record FILE, --replay FILE
  bool force = false;
  std::vector<target> nodes;   ///< several nodes (NODE NODE..., --all): the merged view
  std::string trace;  ///< --trace
  trace_request budget;
  std::optional<double> timeout_s;  ///< --timeout
};

/// Prints "etop: WHY" (visibly) to stderr, and the usage when `code` is 2 (a usage error); exits.
[[noreturn]] void fail(const std::string& why, int code = 2);

/// The column a --sort name means, or nullopt.
std::optional<column_id> column_named(const std::string& name);

/// The options of argv, every value checked; a bad one fails (status 2) with a sentence. May ask on
/// the terminal which node to attach to when several run here.
options parse(int argc, char** argv);

}  // namespace agner::etop
