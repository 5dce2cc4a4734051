#pragma once
/// MatchStream's HTTP API: GET /matches and GET /matches/<id>, JSON. Loopback by default.
#include <cstdint>
#include <memory>
#include <string>

#include "board.hpp"
#include "store.hpp"

namespace matchstream {

/// Serves, on its own thread:
/// - `GET /matches`: `[{"id","home","visit","home_score","visit_score","period","seq","subscribers","ended"}]`
///   from `live` (ordered by id);
/// - `GET /matches/<id>`: that summary plus `"status"` (the stored status JSON) and `"events"` (the
///   stored events, oldest first, at most 1,000) from `db`; 404 with a JSON error for an unknown id.
/// Anything else: 404 (unknown path) or 405 with Allow (other methods); HEAD answers like GET without a
/// body. It is the node's /metrics server (agner/exporter/http_server.hpp) with these routes, so its
/// bounds are agner::exporter::http_limits' defaults: 256 connections (a new one past that closes the
/// one idle longest), 8 KiB of request headers (more: 400 and closed), 5 s to send the first request,
/// 10 s idle between keep-alive requests, 30 s to write an answer. The id in the path is
/// percent-decoded (a broken escape: 400); every string in the JSON is escaped, bytes that are not
/// UTF-8 shown as U+FFFD. Bodies and errors are JSON (`{"error":"<sentence>"}`); a store failure is a
/// 500 (the store's message), that connection closed, and the API keeps serving. Details in
/// http_routes.hpp.
/// Throws std::runtime_error naming the address if it cannot listen. `live` and `db` outlive it.
/// Thread contract: construct and destroy on one thread; the destructor stops serving and joins.
class http_api {
 public:
  http_api(const std::string& address, std::uint16_t port, const board& live, database& db);
  ~http_api();
  http_api(const http_api&) = delete;
  http_api& operator=(const http_api&) = delete;
  /// The port it listens on (the one chosen when 0 was asked).
  std::uint16_t port() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace matchstream
