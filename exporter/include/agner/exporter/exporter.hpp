#pragma once
/// Prometheus /metrics for a node (docs/metrics.md): an asynchronous Boost.Beast server on its own
/// thread serving, through prometheus-cpp's registry and text serializer, the node's snapshot, the
/// standard process_* metrics and the application's business metrics.
/// A scrape renders the latest node snapshot of a snapshot_source (one tick's counters and the
/// last table summary, the same instance the alarms evaluate); it never reads the runtime itself
/// and takes no lock the message path uses, so its cost and size do not grow with the number of
/// processes. Live on each scrape: the server's own agner_metrics_* counters, process_* (from
/// /proc/self), the business metrics and the `extra` families (the alarms').
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agner/exporter/http_server.hpp"
#include "agner/exporter/metrics.hpp"
#include "agner/runtime/runtime.hpp"
#include "agner/snapshot/node_snapshot.hpp"

namespace agner::exporter {

/// The default port: outside 9100-9999, which Prometheus' exporter registry has handed out.
inline constexpr std::uint16_t default_port = 39150;

/// Series another part of the node contributes (the alarms), as plain values.
struct extra_family {
  std::string name, help;
  bool counter = false;  ///< else a gauge
  std::vector<std::pair<std::map<std::string, std::string>, double>> samples;  ///< labels, value
};

struct options {
  /// "ADDR:PORT" (port 0 picks one). Loopback addresses only unless allow_remote.
  std::string listen = "127.0.0.1:39150";
  /// Accept a non-loopback `listen` address (Prometheus on another host). The endpoint has no
  /// authentication: anyone who can reach it reads every metric (docs/metrics.md).
  bool allow_remote = false;
  http_limits http;  ///< the server's bounds (http_server.hpp), checked by the constructor
  /// How often the process table is summarised (queue lengths and ages), on average: each wait is
  /// drawn uniformly from [0.8, 1.2] x this (introspect::jittered). The collector's setting: read
  /// by the runtime constructor's own collector (and the node's), not by the exporter itself.
  std::chrono::milliseconds sample_every{5000};
  /// Registered names that get per-process series (agner_named_process_*{name="..."}); at most 50.
  /// The collector's setting too (node_snapshot::named), as sample_every.
  std::vector<std::string> processes;
  std::string node_name = "agner";
  /// Called on each scrape for more series (bounded by whoever provides them).
  std::function<std::vector<extra_family>()> extra;
};

/// `help` as a HELP line of the text exposition format needs it: backslash and line feed escaped
/// (\\ and \n). Pure; O(size).
std::string escape_help(std::string_view help);

class exporter {
 public:
  /// Starts serving on a thread of its own; each scrape renders `source.latest()`, which must
  /// outlive the exporter (o.sample_every and o.processes are the source's business: unused here).
  /// Throws std::runtime_error naming the problem and the system's reason (a bad address or port,
  /// "Address already in use", a non-loopback address without allow_remote, http limits out of range).
  exporter(const introspect::snapshot_source& source, options o, std::shared_ptr<metrics> business = nullptr);
  /// A convenience over the one above, for a runtime with no collector of its own: it only builds
  /// an introspect::collector over `rt` (ticking every min(o.sample_every, 1 s), scanning the table
  /// every o.sample_every, with o.processes) and serves that. Throws as the one above, and for too
  /// many or repeated per-process names or a sample_every that is not positive.
  exporter(const runtime& rt, options o, std::shared_ptr<metrics> business = nullptr);
  ~exporter();
  exporter(const exporter&) = delete;
  exporter& operator=(const exporter&) = delete;

  /// The port listened on (useful with port 0). Thread-safe.
  std::uint16_t port() const;
  /// The metrics the application registers (served at the same endpoint).
  metrics& business();

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace agner::exporter
