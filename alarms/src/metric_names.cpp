#include "agner/alarms/metric_names.hpp"

#include "agner/alarms/system_metrics.hpp"

namespace agner::alarms {

metric_kind kind_of(std::string_view metric) {
  if (metric.starts_with(business_prefix)) return metric_kind::business;
  if (metric == queue_len_metric) return metric_kind::message_queue_len;
  if (metric == oldest_message_age_metric) return metric_kind::oldest_message_age;
  if (find_system_metric(metric)) return metric_kind::system;
  return metric_kind::unknown;
}

}  // namespace agner::alarms
