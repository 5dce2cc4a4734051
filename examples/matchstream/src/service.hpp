#pragma once
/// The MatchStream service: its supervision tree, its business metrics and its valves, started in
/// a node host (docs/matchstream.md, "Processes"). main.cpp adds the flags, the database and the
/// HTTP API around it.
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "agner/alarms/engine.hpp"
#include "agner/exporter/metrics.hpp"
#include "agner/node/node.hpp"
#include "board.hpp"
#include "store.hpp"

namespace matchstream {

/// The business series of the shared vocabulary (docs/matchstream.md), made once.
struct business_metrics {
  explicit business_metrics(agner::exporter::metrics& m);
  agner::exporter::gauge clients_connected, users, matches;
  agner::exporter::counter events_registered, events_delivered;
  agner::exporter::histogram delivery_latency;  ///< seconds, registration to the socket
  /// matchstream_connections_refused_total{reason}
  agner::exporter::counter refused_overloaded, refused_bad_first_line, refused_unsupported_version,
      refused_unknown_match, refused_timeout, refused_line_too_long;
  /// matchstream_events_dropped_total{reason="send_buffer_full"}
  agner::exporter::counter dropped_send_buffer_full;
  /// matchstream_connections_closed_total{reason}
  agner::exporter::counter closed_peer_closed, closed_match_ended, closed_send_buffer_full, closed_error;
  /// matchstream_store_errors_total: events the store failed to write (their watchers got ERROR)
  agner::exporter::counter store_errors;
};

/// Everything the service's processes share; it outlives them (main keeps it until the host stops).
/// Thread contract: the members are thread-safe themselves (metrics, valves, board, database).
struct service {
  explicit service(agner::exporter::metrics& m) : metrics(m) {}
  business_metrics metrics;
  agner::alarms::valve* admission = nullptr;  ///< asked by the listener per accepted connection
  agner::alarms::valve* subscribe = nullptr;  ///< asked by a user before it subscribes
  std::size_t priority = 0;                   ///< the class both are asked with ("normal")
  board live;
  database* db = nullptr;  ///< null: nothing stored (tests of the protocol alone)
  /// Set by main on SIGTERM, before the runtime stops: watchers take no new line, so the events
  /// already with a match or the store get their answer (main waits for `unanswered` to reach 0).
  std::atomic<bool> draining{false};
  /// Events a watcher has sent on (to its match, or to match_sup to start it) and not yet answered.
  std::atomic<std::int64_t> unanswered{0};
  unsigned user_shards = 16;
};

struct service_options {
  std::string listen_address = "127.0.0.1";
  std::uint16_t listen_port = 7000;  ///< 0: any
  int backlog = 4096;
  unsigned user_shards = 16;
};

/// Starts matchstream_sup (match_sup with one match:<id> per stored match that has not ended,
/// user_sup over user_sup_0..N-1, client_listener, store when `s.db` is set) in `h`'s runtime, and
/// puts every stored match on `s.live`. Call it from the host's setup. Returns the port the
/// listener bound. Throws std::runtime_error naming the address when it cannot listen, or the
/// database's error. Cost: one database read of every match.
std::uint16_t start_service(agner::node::host& h, service& s, const service_options& o);

/// The registered name of match `id`'s process.
std::string match_name(const std::string& id);

}  // namespace matchstream
