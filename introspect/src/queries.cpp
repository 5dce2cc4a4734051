#include "agner/introspect/queries.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <future>
#include <memory>
#include <queue>

#include "agner/runtime/binary.hpp"

namespace agner::introspect {
namespace {

std::uint64_t value_of(const process_sample& s, sort_key key) {
  switch (key) {
    case sort_key::message_queue_len: return s.message_queue_len;
    case sort_key::reductions: return s.reductions;
    case sort_key::messages_received: return s.messages_received;
    case sort_key::memory: return s.memory;
    case sort_key::gc_runs: return s.gc_runs;
    case sort_key::oldest_message_age: return s.oldest_message_age_ms;
  }
  return 0;
}

constexpr std::pair<std::string_view, sort_key> sort_names[] = {
    {"msgq", sort_key::message_queue_len}, {"reductions", sort_key::reductions},
    {"received", sort_key::messages_received}, {"memory", sort_key::memory},
    {"gc", sort_key::gc_runs},             {"age", sort_key::oldest_message_age},
};

std::uint64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::uint64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

process_details details_from(const process_counters& c) {
  process_details d;
  d.row.id = c.id;
  d.row.registered_name = c.registered_name;
  d.row.behaviour = c.behaviour;
  d.row.message_queue_len = c.message_queue_len;
  d.row.reductions = c.reductions;
  d.row.messages_received = c.messages_received;
  d.row.memory_bytes = c.memory;
  d.row.gc_runs = c.minor_gcs + c.major_gcs;
  d.row.oldest_message_age_ms = c.oldest_message_age_ms;
  d.row.status = c.status;
  d.mailbox_bytes = c.mailbox_bytes;
  d.heap_bytes = c.heap_bytes;
  d.state_bytes = c.state_bytes;
  d.minor_gcs = c.minor_gcs;
  d.major_gcs = c.major_gcs;
  d.gc_reclaimed_bytes = c.gc_reclaimed;
  return d;
}

}  // namespace

std::optional<sort_key> parse_sort_key(std::string_view name) {
  for (auto& [n, k] : sort_names)
    if (n == name) return k;
  return std::nullopt;
}

std::string_view to_string(sort_key key) {
  for (auto& [n, k] : sort_names)
    if (k == key) return n;
  return "?";
}

std::optional<pid> resolve(const runtime& rt, std::string_view pid_or_name) {
  if (auto p = parse_pid(pid_or_name)) {
    if (rt.process_info(*p)) return p;
    return std::nullopt;
  }
  return rt.whereis(pid_or_name);
}

void process_info(runtime& rt, pid p, inspect_options options, std::chrono::milliseconds deadline,
                  const std::function<void(std::chrono::milliseconds, std::function<void()>)>& after,
                  std::function<void(std::optional<process_details>)> done) {
  auto counters = rt.process_info(p);
  if (!counters) return done(std::nullopt);
  struct pending {
    std::atomic<bool> answered{false};
    process_details base;
    std::function<void(std::optional<process_details>)> done;
  };
  auto st = std::make_shared<pending>();
  st->base = details_from(*counters);
  st->done = std::move(done);
  const bool asked = rt.inspect(p, options, [st](process_report r) {
    if (st->answered.exchange(true)) return;
    process_details d = std::move(st->base);
    d.responsive = true;
    d.report = std::move(r);
    st->done(std::move(d));
  });
  if (!asked) {  // died in between
    if (!st->answered.exchange(true)) st->done(std::nullopt);
    return;
  }
  after(deadline, [st, &rt, p] {
    if (st->answered.exchange(true)) return;
    if (!rt.process_info(p)) return st->done(std::nullopt);  // died before answering
    st->done(std::move(st->base));  // alive but busy: "unresponsive"
  });
}

std::optional<process_details> process_info(runtime& rt, pid p, inspect_options options,
                                            std::chrono::milliseconds deadline) {
  auto answer = std::make_shared<std::promise<std::optional<process_details>>>();
  auto result = answer->get_future();
  std::function<void()> on_deadline;
  process_info(rt, p, options, deadline,
               [&](std::chrono::milliseconds, std::function<void()> f) { on_deadline = std::move(f); },
               [answer](std::optional<process_details> d) { answer->set_value(std::move(d)); });
  if (result.wait_for(deadline) == std::future_status::timeout && on_deadline) on_deadline();
  return result.get();
}

node_info system_info(const runtime& rt) {
  node_info info;
  info.uptime_ns = static_cast<std::uint64_t>(
      std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::nanoseconds>(rt.uptime()).count()));
  info.process_count = rt.process_count();
  info.process_limit = rt.process_limit();
  info.run_queue_total = rt.global_run_queue_length();
  for (const auto& s : rt.schedulers()) {
    info.schedulers.push_back(
        {s.id, s.run_queue_length, s.reductions, s.context_switches, s.busy_ns, s.wall_ns, s.running, s.handling});
    info.run_queue_total += s.run_queue_length;
  }
  info.messages = rt.messages();
  info.gc = rt.gc();
  info.memory.processes_bytes = std::uint64_t{info.process_count} * control_block_bytes;
  info.memory.heaps_bytes = info.gc.heap_bytes;
  info.memory.binary_bytes = binary::shared_bytes();
  info.memory.resident_bytes = resident_bytes();
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
    const auto schedulers = rt.schedulers();  // who runs what, for the running rows
    for (auto it = best.rbegin(); it != best.rend(); ++it) {
      process_row r;
      r.id = it->id;
      r.message_queue_len = it->message_queue_len;
      r.reductions = it->reductions;
      r.messages_received = it->messages_received;
      r.memory_bytes = it->memory;
      r.gc_runs = it->gc_runs;
      r.oldest_message_age_ms = it->oldest_message_age_ms;
      r.status = it->status;
      if (it->behaviour) r.behaviour = demangle(it->behaviour->name());
      if (r.status == process_status::running)
        for (auto& s : schedulers)
          if (s.running == it->id) r.current_handler = s.handling;
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

bool name_filter::matches(const runtime& rt, const process_sample& s) {
  if (!group.empty() && !in_group(rt, s)) return false;
  if (text.empty()) return true;
  if (!ready_) {
    rt.visit_registered([&](std::string_view name, pid p) {
      if (name.find(text) != std::string_view::npos) named_.push_back(p);
    });
    std::sort(named_.begin(), named_.end());
    ready_ = true;
  }
  if (std::binary_search(named_.begin(), named_.end(), s.id)) return true;
  for (auto& [kind, match] : kinds_)
    if (kind == s.behaviour) return match;
  const bool match = s.behaviour && demangle(s.behaviour->name()).find(text) != std::string::npos;
  kinds_.emplace_back(s.behaviour, match);
  return match;
}

std::vector<process_row> top(const runtime& rt, sort_key key, std::size_t n) {
  name_filter all;
  return top(rt, key, n, all);
}

std::vector<process_row> top(const runtime& rt, sort_key key, std::size_t n, name_filter& filter) {
  if (n == 0) return {};
  best_of pick(n, [key](const process_sample& s) { return value_of(s, key); });
  rt.scan([&](const process_sample& s) {
    if (filter.matches(rt, s)) pick.offer(s);
  });
  return pick.rows(rt);
}

std::vector<process_row> reductions_window::top(const runtime& rt, std::size_t n) {
  name_filter all;
  return top(rt, n, all);
}

std::vector<process_row> reductions_window::top(const runtime& rt, std::size_t n, name_filter& filter) {
  // The window's amount rides in the sample's reductions field while ranking.
  best_of pick(n, [](const process_sample& s) { return s.reductions; });
  rt.scan([&](const process_sample& s) {
    if (last_.size() <= s.id.index) last_.resize(s.id.index + 1);
    seen& before = last_[s.id.index];
    const auto low = static_cast<std::uint32_t>(s.reductions);
    const bool known = before.serial_plus_one == s.id.serial + 1;
    process_sample windowed = s;
    windowed.reductions = known ? static_cast<std::uint32_t>(low - before.reductions_low) : s.reductions;
    before = seen{s.id.serial + 1, low};
    if (n && filter.matches(rt, s)) pick.offer(windowed);
  });
  auto rows = pick.rows(rt);
  for (auto& r : rows) {
    r.reductions_in_window = r.reductions;
    if (auto info = rt.process_info(r.id)) r.reductions = info->reductions;  // lifetime, for the row
  }
  return rows;
}

}  // namespace agner::introspect
