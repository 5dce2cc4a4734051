#pragma once
/// What the HTTP API answers, apart from the HTTP machinery (http_api.cpp): the routes and the JSON
/// bodies. Pure functions of the board and the store, so tests can call them without a socket.
#include <optional>
#include <string>
#include <string_view>

#include "board.hpp"
#include "store.hpp"

namespace matchstream {

/// Which resource a request path names. `id` is the match id, percent-decoded (any bytes, even NUL or
/// '/' when encoded); for bad_id, the undecodable text as it came.
struct api_route {
  enum kind_t { unknown, list, one, bad_id } kind = unknown;
  std::string id;
};

/// "/matches" and "/matches/" are the list; "/matches/<id>" one match; a '%' not followed by two hex
/// digits in <id> is bad_id; anything else unknown. `path` excludes the query string. Cost: O(length).
api_route route_of(std::string_view path);

/// `{"error":"<message>"}`. Every string here and below is escaped by nlohmann::json; bytes that are
/// not UTF-8 become U+FFFD rather than an exception.
std::string error_json(const std::string& message);

/// GET /matches: every live match's summary, ordered by id:
/// `[{"id","home","visit","home_score","visit_score","period","seq","subscribers","ended"}]`.
/// Cost: copies the board once.
std::string list_json(const board& live);

/// GET /matches/<id>: the summary (from the board if the match is live, else what the stored status
/// holds of it) plus `"status"` (the stored status JSON, null if nothing is stored yet) and `"events"`
/// (`[{"seq","kind","at_us","fields"}]`, the newest 1,000 stored, oldest first). nullopt when neither
/// the board nor the store knows `id`. Throws std::runtime_error when the store does. Cost: two
/// indexed queries under the store's mutex.
std::optional<std::string> match_json(const board& live, database& db, const std::string& id);

}  // namespace matchstream
