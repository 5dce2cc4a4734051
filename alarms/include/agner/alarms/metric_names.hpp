#pragma once
/// The alarm vocabulary (docs/alarms.md), spelled once: what an alarm rule's `metric` may name,
/// and the node's own alarm id. The system metrics themselves are the table in system_metrics.hpp.
#include <string_view>

namespace agner::alarms {

/// "business:NAME": the application's metric NAME (exporter::metrics), read on the tick.
inline constexpr std::string_view business_prefix = "business:";
/// The per-process metrics, one alarm per process, checked by the runtime's queue watch as
/// messages are queued: a queue's length (messages) and its oldest message's age (milliseconds).
inline constexpr std::string_view queue_len_metric = "process:message_queue_len";
inline constexpr std::string_view oldest_message_age_metric = "process:oldest_message_age_ms";
/// The alarm the node raises (major) while the last reload of the rules file failed.
inline constexpr std::string_view reload_failed_alarm = "rules_reload_failed";

enum class metric_kind {
  unknown,             ///< none of the below: the rules parser refuses it
  system,              ///< a name in system_metrics()
  business,            ///< business:NAME (NAME may be empty: the parser refuses that)
  message_queue_len,   ///< queue_len_metric
  oldest_message_age,  ///< oldest_message_age_metric
};
/// What `metric` names. Pure; thread-safe; O(system metrics).
metric_kind kind_of(std::string_view metric);
/// True for the two per-process kinds.
constexpr bool per_process(metric_kind k) {
  return k == metric_kind::message_queue_len || k == metric_kind::oldest_message_age;
}

}  // namespace agner::alarms
