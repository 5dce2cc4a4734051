#include "agner/alarms/system_metrics.hpp"

#include <algorithm>
#include <cstdint>

namespace agner::alarms {
namespace {

using introspect::node_info;

double d(std::uint64_t v) { return static_cast<double>(v); }
std::uint64_t since(std::uint64_t now, std::uint64_t before) { return now - std::min(now, before); }
std::uint64_t busy_ns(const node_info& n) {
  std::uint64_t sum = 0;
  for (auto& s : n.schedulers) sum += s.busy_ns;
  return sum;
}
std::uint64_t wall_ns(const node_info& n) {
  std::uint64_t sum = 0;
  for (auto& s : n.schedulers) sum += s.wall_ns;
  return sum;
}

const system_metric table[] = {  // sorted by name
    {"dead_letters_per_s", "per_second",
     [](const node_info& now, const node_info& before, double dt_s) {
       return d(since(now.messages.dead_letters, before.messages.dead_letters)) / dt_s;
     }},
    {"process_ratio", "ratio",
     [](const node_info& now, const node_info&, double) {
       return d(now.process_count) / d(std::max<std::uint32_t>(1, now.process_limit));
     }},
    {"processes", "processes", [](const node_info& now, const node_info&, double) { return d(now.process_count); }},
    {"resident_bytes", "bytes", [](const node_info& now, const node_info&, double) { return d(now.memory.resident_bytes); }},
    {"run_queue", "processes", [](const node_info& now, const node_info&, double) { return d(now.run_queue_total); }},
    {"run_queue_per_scheduler", "processes",
     [](const node_info& now, const node_info&, double) {
       return d(now.run_queue_total) / d(std::max<std::size_t>(1, now.schedulers.size()));
     }},
    {"scheduler_utilisation", "ratio",  // busy over wall time since the last tick, all schedulers
     [](const node_info& now, const node_info& before, double) {
       const auto wall = since(wall_ns(now), wall_ns(before));
       return wall ? d(since(busy_ns(now), busy_ns(before))) / d(wall) : 0.0;
     }},
};

}  // namespace

std::span<const system_metric> system_metrics() { return table; }

const system_metric* find_system_metric(std::string_view name) {
  for (const auto& m : table)
    if (m.name == name) return &m;
  return nullptr;
}

std::map<std::string, double> sample_system(const node_info& now, const node_info& before, double dt_s) {
  std::map<std::string, double> out;
  for (const auto& m : table) out.emplace(m.name, m.value(now, before, dt_s));
  return out;
}

}  // namespace agner::alarms
