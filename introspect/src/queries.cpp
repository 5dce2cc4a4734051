#include "agner/introspect/queries.hpp"

#include <algorithm>
#include <queue>

namespace agner::introspect {
namespace {

std::uint64_t value_of(const process_sample& s, sort_key key) {
  switch (key) {
    case sort_key::message_queue_len: return s.message_queue_len;
    case sort_key::reductions: return s.reductions;
    case sort_key::messages_received: return s.messages_received;
    case sort_key::memory: return s.memory;
  }
  return 0;
}

/// True when a ranks before b: larger value first, then smaller pid.
bool ranks_before(const process_sample& a, const process_sample& b, sort_key key) {
  auto va = value_of(a, key), vb = value_of(b, key);
  return va != vb ? va > vb : a.id < b.id;
}

}  // namespace

node_info system_info(const runtime& rt, std::chrono::steady_clock::time_point started) {
  node_info info;
  info.uptime_ns = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - started).count());
  info.process_count = rt.process_count();
  info.process_limit = rt.process_limit();
  info.run_queue_total = rt.global_run_queue_length();
  for (const auto& s : rt.schedulers()) {
    info.schedulers.push_back({s.id, s.run_queue_length, s.reductions, s.context_switches, s.busy_ns, s.wall_ns});
    info.run_queue_total += s.run_queue_length;
  }
  info.messages = rt.messages();
  info.ports = rt.ports();
  return info;
}

std::vector<process_row> top(const runtime& rt, sort_key key, std::size_t n) {
  if (n == 0) return {};
  // A heap whose top is the worst row kept so far.
  auto worse_on_top = [key](const process_sample& a, const process_sample& b) { return ranks_before(a, b, key); };
  std::priority_queue<process_sample, std::vector<process_sample>, decltype(worse_on_top)> kept(worse_on_top);
  rt.scan([&](const process_sample& s) {
    if (kept.size() < n) {
      kept.push(s);
    } else if (ranks_before(s, kept.top(), key)) {
      kept.pop();
      kept.push(s);
    }
  });
  std::vector<process_sample> best;
  best.reserve(kept.size());
  while (!kept.empty()) {
    best.push_back(kept.top());
    kept.pop();
  }
  std::reverse(best.begin(), best.end());
  std::vector<process_row> rows;
  rows.reserve(best.size());
  for (const auto& s : best) {
    process_row r;
    r.id = s.id;
    r.message_queue_len = s.message_queue_len;
    r.reductions = s.reductions;
    r.messages_received = s.messages_received;
    r.memory = s.memory;
    r.status = s.status;
    if (auto info = rt.process_info(s.id)) r.registered_name = info->registered_name;
    rows.push_back(std::move(r));
  }
  return rows;
}

}  // namespace agner::introspect
