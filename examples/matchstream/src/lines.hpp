#pragma once
/// The two things a connection says in lines, parsed apart from any process or socket (so the
/// fuzz targets in fuzz/ feed them directly): a connection's first line and a watcher's event
/// line (docs/matchstream-protocol.md). Plain functions of their input: any thread, no state.
#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace matchstream {

/// What a first line asks for.
struct first_line {
  enum class kind {
    connect,              ///< VERSION:1:CONNECT:<user>:MATCH:<match-id>: `user`, `match` set
    watch,                ///< VERSION:1:WATCH:<match-id>: `match` set
    unsupported_version,  ///< VERSION:<v>:… with v other than 1: `version` holds v
    bad,                  ///< anything else
  };
  kind what = kind::bad;
  std::string user, match, version;
};

/// Parses a first line (without its "\n" or "\r"). `user` (connect) and `match` (watch) are never
/// empty; a connect's `match` may be (no match has that name); none holds ':'; other bytes are taken as they are (escaped() before echoing them). Cost: one pass
/// and a copy of the fields.
first_line parse_first_line(std::string_view line);

/// A watcher line as an event: a JSON object with a string "kind" (then `error` is empty) or an
/// error sentence for the watcher's `ERROR:` answer. A line nesting deeper than max_event_depth is
/// refused before it is parsed (so no event is deep enough to exhaust a stack when copied). Never throws. Cost: one parse of the line.
struct watcher_line {
  nlohmann::json event;
  std::string error;
};
watcher_line parse_watcher_line(std::string_view line);

/// Deepest nesting of arrays and objects a watcher line may have (an event needs 3: the object,
/// a roster, a pair).
inline constexpr std::size_t max_event_depth = 16;

}  // namespace matchstream
