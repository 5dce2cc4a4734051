// MatchStream's HTTP API (http_api.hpp): the routes of http_routes.hpp on the node's HTTP server
// (agner/exporter/http_server.hpp), which brings the bounds, keep-alive, HEAD and the 400/500 answers.
#include "http_api.hpp"

#include <optional>
#include <stdexcept>

#include <agner/exporter/http_server.hpp>
#include <fmt/format.h>

#include "http_routes.hpp"

namespace matchstream {
namespace {

using agner::exporter::http_request;
using agner::exporter::http_response;
using agner::exporter::http_stats;

http_response json_answer(int status, std::string body) {
  return {status, "application/json", std::move(body), {{"Cache-Control", "no-store"}}, false};
}

http_response error_answer(int status, const std::string& message) { return json_answer(status, error_json(message)); }

// A store failure (disk, damaged file) throws out of match_json: the server answers it with
// error_answer(500, what) and closes the connection; the API keeps serving.
http_response respond(const board& live, database& db, const http_request& req) {
  const auto route = route_of(req.path);
  if (route.kind == api_route::unknown) return error_answer(404, "not found: serves /matches and /matches/<id>");
  if (route.kind == api_route::bad_id) return error_answer(400, "bad match id in the path: " + route.id);
  if (req.method != "GET" && req.method != "HEAD") {
    auto a = error_answer(405, "method not allowed: use GET or HEAD");
    a.headers.emplace_back("Allow", "GET, HEAD");
    return a;
  }
  if (route.kind == api_route::list) return json_answer(200, list_json(live));
  auto body = match_json(live, db, route.id);
  if (!body) return error_answer(404, "unknown match " + route.id);
  return json_answer(200, std::move(*body));
}

}  // namespace

struct http_api::impl {
  std::optional<agner::exporter::http_server> server;
};

http_api::http_api(const std::string& address, std::uint16_t port, const board& live, database& db)
    : impl_(std::make_unique<impl>()) {
  try {
    // The node's /metrics bounds (http_limits' defaults) fit this API too.
    impl_->server.emplace(
        address, port, agner::exporter::http_limits{},
        [&live, &db](const http_request& req, const http_stats&) { return respond(live, db, req); },
        error_answer);
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("HTTP API: {}", e.what()));
  }
}

http_api::~http_api() = default;

std::uint16_t http_api::port() const noexcept { return impl_->server->port(); }

}  // namespace matchstream
