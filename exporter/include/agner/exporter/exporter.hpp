#pragma once
/// Prometheus /metrics for a node (docs/metrics.md): an asynchronous Boost.Beast server on its own
/// thread serving, through prometheus-cpp's registry and text serializer, the runtime's counters,
/// the standard process_* metrics and the application's business metrics.
/// A scrape reads per-scheduler counters and the latest process-table summary, which a sampler
/// thread refreshes; it never scans the process table itself and takes no lock the message path
/// uses, so its cost and size do not grow with the number of processes.
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
  /// How often the sampler summarises the process table (queue lengths and ages), on average:
  /// each wait is drawn uniformly from [0.8, 1.2] x this (see jittered()).
  std::chrono::milliseconds sample_every{5000};
  /// Registered names that get per-process series (agner_process_*{name="..."}); at most 50.
  std::vector<std::string> processes;
  std::string node_name = "agner";
  /// Called on each scrape for more series (bounded by whoever provides them).
  std::function<std::vector<extra_family>()> extra;
};

/// The sampler's wait before its next table scan: uniform in [0.8, 1.2] x `every` (whole
/// milliseconds), drawn from `seed`, so the scan cannot stay in phase with a periodic workload.
/// Pure; O(1).
std::chrono::milliseconds jittered(std::chrono::milliseconds every, std::uint64_t seed);

/// `help` as a HELP line of the text exposition format needs it: backslash and line feed escaped
/// (\\ and \n). Pure; O(size).
std::string escape_help(std::string_view help);

class exporter {
 public:
  /// Starts serving on a thread of its own. Throws std::runtime_error naming the problem and the
  /// system's reason (a bad address or port, "Address already in use", a non-loopback address
  /// without allow_remote, too many per-process names, http limits or sample_every out of range).
  exporter(runtime& rt, options o, std::shared_ptr<metrics> business = nullptr);
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
