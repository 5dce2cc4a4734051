#include "agner/alarms/metric_reader.hpp"

#include <algorithm>

#include "agner/alarms/metric_names.hpp"
#include "agner/alarms/system_metrics.hpp"

namespace agner::alarms {

metric_reader::metric_reader(introspect::node_info first, std::int64_t first_ms, business_lookup business)
    : business_(std::move(business)), last_(std::move(first)), last_ms_(first_ms) {}

void metric_reader::sample(introspect::node_info now, std::int64_t now_ms) {
  const double dt_s = static_cast<double>(std::max<std::int64_t>(1, now_ms - last_ms_)) / 1000;
  system_ = sample_system(now, last_, dt_s);
  last_ = std::move(now);
  last_ms_ = now_ms;
}

std::optional<double> metric_reader::read(const std::string& metric, const labels& l) const {
  switch (kind_of(metric)) {
    case metric_kind::business:
      return business_ ? business_(metric.substr(business_prefix.size()), l) : std::nullopt;
    case metric_kind::system:
      if (auto it = system_.find(metric); it != system_.end()) return it->second;
      return std::nullopt;  // before the first sample
    default:
      return std::nullopt;  // a per-process metric: those come from the queue watch
  }
}

}  // namespace agner::alarms
