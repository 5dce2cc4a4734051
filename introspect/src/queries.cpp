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

namespace {

/// Keeps the n best samples seen, by `value` (largest first, ties by pid), and turns them into rows.
template <class Value>
class best_of {
 public:
  best_of(std::size_t n, Value value) : n_(n), value_(value), kept_(worse_on_top{value}) {}

  void offer(const process_sample& s) {
    if (kept_.size() < n_) {
      kept_.push(s);
    } else if (better(s, kept_.top(), value_)) {
      kept_.pop();
      kept_.push(s);
    }
  }

  std::vector<process_row> rows(const runtime& rt) {
    std::vector<process_sample> best;
    best.reserve(kept_.size());
    while (!kept_.empty()) {
      best.push_back(kept_.top());
      kept_.pop();
    }
    std::vector<process_row> out;
    out.reserve(best.size());
    for (auto it = best.rbegin(); it != best.rend(); ++it) {
      process_row r;
      r.id = it->id;
      r.message_queue_len = it->message_queue_len;
      r.reductions = it->reductions;
      r.messages_received = it->messages_received;
      r.memory = it->memory;
      r.status = it->status;
      if (auto info = rt.process_info(it->id)) r.registered_name = info->registered_name;
      out.push_back(std::move(r));
    }
    return out;
  }

 private:
  static bool better(const process_sample& a, const process_sample& b, const Value& value) {
    auto va = value(a), vb = value(b);
    return va != vb ? va > vb : a.id < b.id;
  }
  struct worse_on_top {
    Value value;
    bool operator()(const process_sample& a, const process_sample& b) const { return better(a, b, value); }
  };
  std::size_t n_;
  Value value_;
  std::priority_queue<process_sample, std::vector<process_sample>, worse_on_top> kept_;
};

}  // namespace

std::vector<process_row> top(const runtime& rt, sort_key key, std::size_t n) {
  if (n == 0) return {};
  best_of pick(n, [key](const process_sample& s) { return value_of(s, key); });
  rt.scan([&](const process_sample& s) { pick.offer(s); });
  return pick.rows(rt);
}

std::vector<process_row> reductions_window::top(const runtime& rt, std::size_t n) {
  // The window's amount rides in the sample's reductions field while ranking.
  best_of pick(n, [](const process_sample& s) { return s.reductions; });
  rt.scan([&](const process_sample& s) {
    if (last_.size() <= s.id.index) last_.resize(s.id.index + 1);
    seen& before = last_[s.id.index];
    const std::uint64_t base = before.valid && before.serial == s.id.serial ? before.reductions : 0;
    before = seen{s.id.serial, true, s.reductions};
    process_sample windowed = s;
    windowed.reductions = s.reductions - base;
    if (n) pick.offer(windowed);
  });
  auto rows = pick.rows(rt);
  for (auto& r : rows) {
    r.reductions_in_window = r.reductions;
    r.reductions = last_[r.id.index].reductions;
  }
  return rows;
}

}  // namespace agner::introspect
