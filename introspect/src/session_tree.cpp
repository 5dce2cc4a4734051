// supervision_tree (docs/protocol.md): the bounds are read and checked here, the walk is tree.cpp.
#include <fmt/format.h>

#include "agner/introspect/tree.hpp"
#include "fields.hpp"
#include "session.hpp"

namespace agner::introspect {

void session::tree(const json& req, const json& id) {
  tree_options o;
  o.depth = static_cast<std::size_t>(fields::integer(req, "depth", 1, 10, 8));
  o.max_entries = static_cast<std::size_t>(fields::integer(req, "max_entries", 1, 10000, 1000));
  o.deadline = std::chrono::milliseconds(fields::integer(req, "deadline_ms", 0, 1000, 200));
  if (fields::has(req, "pid") || fields::has(req, "name")) {
    const pid p = target(req);  // refuses a malformed pid, an unknown one, or one that exited
    if (!is_supervisor(srv_.rt, p)) {
      auto info = srv_.rt.process_info(p);
      throw request_error{codes::bad_request,
                          fmt::format("process {} is not a supervisor (it runs {})", p,
                                      info ? info->behaviour : std::string("nothing now"))};
    }
    o.root = p;
  }
  reply(id, to_json(walk_supervision_tree(srv_.rt, o)));
}

}  // namespace agner::introspect
