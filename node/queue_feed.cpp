#include "queue_feed.hpp"

#include <fmt/format.h>

#include "agner/alarms/metric_names.hpp"

namespace agner::node {

void queue_feed::push(const queue_event& e) {
  std::lock_guard lock(mutex_);
  if (pending_.size() < max_pending) pending_.push_back(e);
}

void queue_feed::drain(const runtime& rt, alarms::engine& engine, std::int64_t now_ms) {
  std::vector<queue_event> events;
  {
    std::lock_guard lock(mutex_);
    events.swap(pending_);
  }
  for (auto& e : events) {
    const bool length = e.what == queue_event::kind::long_queue || e.what == queue_event::kind::short_again;
    const bool on = e.what == queue_event::kind::long_queue || e.what == queue_event::kind::old_message;
    const auto key = std::make_pair(fmt::format("{}", e.who), length);
    std::string source = key.first;
    if (on) {
      if (auto info = rt.process_info(e.who); info && !info->registered_name.empty()) source += " " + info->registered_name;
      sources_[key] = source;
    } else if (auto it = sources_.find(key); it != sources_.end()) {
      source = it->second;
      sources_.erase(it);
    }
    const auto metric = length ? alarms::queue_len_metric : alarms::oldest_message_age_metric;
    engine.process_event(std::string(metric), source, on, static_cast<double>(e.value), now_ms);
  }
}

}  // namespace agner::node
