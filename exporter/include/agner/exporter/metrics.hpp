#pragma once
/// The application's own metrics (business metrics): counters, gauges and histograms with labels,
/// served at the node's /metrics next to the runtime's, and readable by name (alarm rules read
/// them). Create a series once and keep its handle: updating one is an atomic add, no lock.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
class Registry;
}  // namespace prometheus

namespace agner::exporter {

using labels = std::map<std::string, std::string>;

class counter {
 public:
  void inc(double by = 1);
  double value() const;

 private:
  friend class metrics;
  explicit counter(prometheus::Counter& c) : c_(&c) {}
  prometheus::Counter* c_;
};

class gauge {
 public:
  void set(double v);
  void inc(double by = 1);
  void dec(double by = 1);
  double value() const;

 private:
  friend class metrics;
  explicit gauge(prometheus::Gauge& g) : g_(&g) {}
  prometheus::Gauge* g_;
};

class histogram {
 public:
  void observe(double v);

 private:
  friend class metrics;
  explicit histogram(prometheus::Histogram& h) : h_(&h) {}
  prometheus::Histogram* h_;
};

class metrics {
 public:
  metrics();
  ~metrics();
  metrics(const metrics&) = delete;
  metrics& operator=(const metrics&) = delete;

  /// The series `name{labels}`, created on first use. Thread-safe. Throws std::invalid_argument
  /// for a name Prometheus would refuse, a name in the runtime's agner_ or process_ namespaces, a
  /// name already used with another type, or more than 10,000 series in all.
  counter make_counter(const std::string& name, const std::string& help, const labels& l = {});
  gauge make_gauge(const std::string& name, const std::string& help, const labels& l = {});
  /// `buckets`: upper bounds, increasing.
  histogram make_histogram(const std::string& name, const std::string& help, const std::vector<double>& buckets,
                           const labels& l = {});

  /// The value of `name{labels}` now: a counter's or gauge's value, or for a histogram `name_count`
  /// and `name_sum`. Nullopt when there is no such series. Thread-safe; cost: one collection of
  /// this registry (proportional to the series registered).
  std::optional<double> value(const std::string& name, const labels& l = {}) const;

  /// For the exporter.
  std::shared_ptr<prometheus::Registry> registry() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace agner::exporter
