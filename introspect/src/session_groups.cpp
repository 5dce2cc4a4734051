// The `groups` request (docs/protocol.md): processes grouped by behaviour type and name prefix.
#include <fmt/format.h>

#include "fields.hpp"
#include "session.hpp"

namespace agner::introspect {

void session::groups(const json& req, const json& id) {
  const std::string sort_name = fields::text(req, "sort", 1, 64, "msgq");
  const auto sort = parse_group_sort(sort_name);
  if (!sort) return fail(id, codes::bad_request, fmt::format("unknown sort '{}' ({})", sort_name, group_sort_names()));
  const auto n = fields::integer(req, "n", 1, static_cast<std::int64_t>(srv_.options.limits.max_top_rows), 20);
  if (!group_window_) {
    // A session keeping a window of either kind counts once against the limit (8 bytes per slot each).
    if (!window_ && srv_.windowed >= srv_.options.limits.max_windowed_sessions)
      return fail(id, codes::busy, fmt::format("too many sessions keep a reductions window (limit {})",
                                               srv_.options.limits.max_windowed_sessions));
    if (!window_) ++srv_.windowed;
    group_window_ = std::make_unique<group_window>();
  }
  reply(id, to_json(group_window_->groups(srv_.rt, *sort, static_cast<std::size_t>(n))));
}

}  // namespace agner::introspect
