#pragma once
/// Prometheus /metrics for a node (docs/metrics.md): prometheus-cpp's Exposer (civetweb) serving
/// the runtime's counters, the standard process_* metrics and the application's business metrics.
/// A scrape reads per-scheduler counters and the latest process-table summary, which a sampler
/// thread refreshes; it never scans the process table itself and takes no lock the message path
/// uses, so its cost and size do not grow with the number of processes.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

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
  bool allow_remote = false;
  /// How often the sampler summarises the process table (queue lengths and ages).
  std::chrono::milliseconds sample_every{5000};
  /// Registered names that get per-process series (agner_process_*{name="..."}); at most 50.
  std::vector<std::string> processes;
  std::string node_name = "agner";
  /// Called on each scrape for more series (bounded by whoever provides them).
  std::function<std::vector<extra_family>()> extra;
};

class exporter {
 public:
  /// Starts serving. Throws std::runtime_error naming the problem (a bad or busy address, a
  /// non-loopback address without allow_remote, too many per-process names).
  exporter(runtime& rt, options o, std::shared_ptr<metrics> business = nullptr);
  ~exporter();
  exporter(const exporter&) = delete;
  exporter& operator=(const exporter&) = delete;

  std::uint16_t port() const;
  /// The metrics the application registers (served at the same endpoint).
  metrics& business();

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace agner::exporter
