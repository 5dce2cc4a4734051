#include "agner/exporter/metrics.hpp"

#include <algorithm>
#include <mutex>
#include <regex>
#include <stdexcept>

#include <fmt/format.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "utf8.hpp"

namespace agner::exporter {

void counter::inc(double by) { c_->Increment(by); }
double counter::value() const { return c_->Value(); }
void gauge::set(double v) { g_->Set(v); }
void gauge::inc(double by) { g_->Increment(by); }
void gauge::dec(double by) { g_->Decrement(by); }
double gauge::value() const { return g_->Value(); }
void histogram::observe(double v) { h_->Observe(v); }

struct metrics::impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  std::mutex mutex;
  std::map<std::string, prometheus::Family<prometheus::Counter>*> counters;
  std::map<std::string, prometheus::Family<prometheus::Gauge>*> gauges;
  std::map<std::string, prometheus::Family<prometheus::Histogram>*> histograms;
  std::size_t series = 0;

  void check(const std::string& name, const std::string& help, const labels& l, const char* type) {
    static const std::regex valid("[a-zA-Z_:][a-zA-Z0-9_:]*");
    static const std::regex label_valid("[a-zA-Z_][a-zA-Z0-9_]*");
    if (!std::regex_match(name, valid))
      throw std::invalid_argument(fmt::format("metric name '{}' is not valid in Prometheus ([a-zA-Z_:][a-zA-Z0-9_:]*)", name));
    if (name.starts_with("agner_") || name.starts_with("process_"))
      throw std::invalid_argument(fmt::format("metric name '{}': agner_ and process_ belong to the runtime", name));
    if (!valid_utf8(help)) throw std::invalid_argument(fmt::format("metric {}: the help text is not valid UTF-8", name));
    for (auto& [k, v] : l) {
      if (!std::regex_match(k, label_valid) || k.starts_with("__"))
        throw std::invalid_argument(fmt::format(
            "metric {}: label name '{}' is not valid in Prometheus ([a-zA-Z_][a-zA-Z0-9_]*, no __ prefix)", name, k));
      if (!valid_utf8(v)) throw std::invalid_argument(fmt::format("metric {}: the value of label '{}' is not valid UTF-8", name, k));
    }
    const bool taken = (counters.count(name) && std::string(type) != "counter") ||
                       (gauges.count(name) && std::string(type) != "gauge") ||
                       (histograms.count(name) && std::string(type) != "histogram");
    if (taken) throw std::invalid_argument(fmt::format("metric name '{}' is already used with another type", name));
    if (++series > 10'000) {
      --series;
      throw std::invalid_argument("more than 10,000 business metric series: labels must not carry ids");
    }
  }
};

metrics::metrics() : impl_(std::make_unique<impl>()) {}
metrics::~metrics() = default;

std::shared_ptr<prometheus::Registry> metrics::registry() const { return impl_->registry; }

counter metrics::make_counter(const std::string& name, const std::string& help, const labels& l) {
  std::lock_guard lock(impl_->mutex);
  impl_->check(name, help, l, "counter");
  auto*& family = impl_->counters[name];
  if (!family) family = &prometheus::BuildCounter().Name(name).Help(help).Register(*impl_->registry);
  return counter(family->Add(l));
}

gauge metrics::make_gauge(const std::string& name, const std::string& help, const labels& l) {
  std::lock_guard lock(impl_->mutex);
  impl_->check(name, help, l, "gauge");
  auto*& family = impl_->gauges[name];
  if (!family) family = &prometheus::BuildGauge().Name(name).Help(help).Register(*impl_->registry);
  return gauge(family->Add(l));
}

histogram metrics::make_histogram(const std::string& name, const std::string& help, const std::vector<double>& buckets,
                                  const labels& l) {
  std::lock_guard lock(impl_->mutex);
  impl_->check(name, help, l, "histogram");
  if (buckets.empty() || !std::is_sorted(buckets.begin(), buckets.end()))
    throw std::invalid_argument(fmt::format("histogram {}: buckets must be increasing", name));
  auto*& family = impl_->histograms[name];
  if (!family) family = &prometheus::BuildHistogram().Name(name).Help(help).Register(*impl_->registry);
  return histogram(family->Add(l, buckets));
}

std::optional<double> metrics::value(const std::string& name, const labels& l) const {
  for (const auto& family : impl_->registry->Collect()) {
    const bool count = name == family.name + "_count", sum = name == family.name + "_sum";
    if (family.name != name && !count && !sum) continue;
    for (const auto& m : family.metric) {
      labels have;
      for (auto& lp : m.label) have[lp.name] = lp.value;
      if (have != l) continue;
      switch (family.type) {
        case prometheus::MetricType::Counter: return m.counter.value;
        case prometheus::MetricType::Gauge: return m.gauge.value;
        case prometheus::MetricType::Histogram:
          if (count) return static_cast<double>(m.histogram.sample_count);
          if (sum) return m.histogram.sample_sum;
          return std::nullopt;
        default: return std::nullopt;
      }
    }
  }
  return std::nullopt;
}

}  // namespace agner::exporter
