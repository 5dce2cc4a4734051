#pragma once
// The /metrics HTTP server: Boost.Beast, asynchronous, one thread. Idle and slow peers cannot
// starve a scrape: every connection has deadlines, requests are small, and past the connection
// cap the idlest connection is closed to make room for the new one.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "agner/exporter/exporter.hpp"

namespace agner::exporter {

/// Counters of the server, read from any thread (relaxed).
struct http_stats {
  std::uint64_t connections_open = 0;
  std::uint64_t accepted = 0;
  std::uint64_t evicted = 0;    ///< closed to make room past the cap
  std::uint64_t timed_out = 0;  ///< closed by a deadline
  std::uint64_t scrapes = 0;    ///< GET and HEAD /metrics answered
};

class http_server {
 public:
  /// The body of GET /metrics, called on the server's thread for each scrape with the server's
  /// own counters (which it may serve).
  using render = std::function<std::string(const http_stats&)>;
  /// Binds `host:port` and starts the server's thread. Throws std::runtime_error with the
  /// system's reason ("Address already in use") when it cannot listen.
  http_server(const std::string& host, std::uint16_t port, http_limits limits, render body);
  /// Stops the thread and closes every connection.
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  std::uint16_t port() const;
  /// Thread-safe; O(1).
  http_stats stats() const;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace agner::exporter
