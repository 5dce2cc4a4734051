#pragma once
/// A small HTTP/1.1 server for read-only endpoints: Boost.Beast, asynchronous, one thread of its own.
/// It serves the node's /metrics (exporter.hpp) and MatchStream's JSON API. Idle and slow peers cannot
/// starve an answer: each connection has deadlines, requests are small, and past the connection cap the
/// connection waiting longest for a request is closed to make room for the new one (docs/metrics.md).
/// What it does for every handler: HTTP/1.1 keep-alive (and HTTP/1.0's Connection header), HEAD
/// answered with the GET's status and headers and no body, 400 and close on a malformed or too large
/// request, 500 and close when the handler throws. Routes, 404 and 405 are the handler's.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace agner::exporter {

/// The server's bounds.
struct http_limits {
  /// Connections open at once; a new one past it closes the one waiting longest for a request.
  std::size_t max_connections = 256;
  /// Request line + headers (and, separately, a body), bytes: more is answered 400 and closed.
  std::size_t max_request_bytes = 8192;
  /// From accepting a connection to having its whole first request.
  std::chrono::milliseconds header_timeout{5000};
  /// Keep-alive: from an answer to having the whole next request.
  std::chrono::milliseconds idle_timeout{10000};
  /// To write one answer to a slow reader.
  std::chrono::milliseconds write_timeout{30000};
};

/// Counters of one server since it started (relaxed reads, each exact, not a consistent set).
struct http_stats {
  std::uint64_t connections_open = 0;
  std::uint64_t accepted = 0;
  std::uint64_t evicted = 0;    ///< closed to make room past the cap
  std::uint64_t timed_out = 0;  ///< closed by a deadline
};

/// One request as the handler sees it. The views point into the server's buffers and are valid only
/// during the handler's call.
struct http_request {
  std::string_view method;  ///< as sent, e.g. "GET", "HEAD", "POST"
  std::string_view target;  ///< as sent, query string included
  std::string_view path;    ///< target up to its first '?'
  std::vector<std::pair<std::string_view, std::string_view>> headers;  ///< name, value; in order sent
};

/// One answer. A HEAD request's answer is sent without its body (its Content-Length kept).
struct http_response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  /// Further headers (Allow, Cache-Control): name, value; no CR or LF in either.
  std::vector<std::pair<std::string, std::string>> headers;
  /// Close the connection after this answer even if the client asked to keep it.
  bool close = false;
};

/// Answers a request, on the server's thread, with the server's counters (which it may serve). It
/// must not block for long: the server has one thread. An exception becomes the error answer below
/// with status 500 and the exception's message, and the connection is closed.
using http_handler = std::function<http_response(const http_request&, const http_stats&)>;

/// The server's own error answers (400, 500) from a status and a one-sentence reason; the server
/// closes the connection after them whatever `close` says.
using http_error_answer = std::function<http_response(int status, const std::string& reason)>;

/// The default error answer, also handy for a handler's 404 and 405: text/plain, "<reason>\n",
/// the connection kept. Pure; O(size).
http_response plain_error(int status, const std::string& reason);

class http_server {
 public:
  /// Binds `host:port` (an IP address; port 0 picks one) and starts the server's thread. Throws
  /// std::runtime_error naming the address and the system's reason ("Address already in use") when
  /// it cannot listen. The limits are taken as given (callers validate them). Blocking; O(1).
  http_server(const std::string& host, std::uint16_t port, http_limits limits, http_handler handler,
              http_error_answer error = plain_error);
  /// Stops accepting, closes every connection and joins the thread. Blocking.
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  /// The port listened on (the one chosen when 0 was asked). Thread-safe; O(1).
  std::uint16_t port() const;
  /// Thread-safe; O(1).
  http_stats stats() const;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace agner::exporter
