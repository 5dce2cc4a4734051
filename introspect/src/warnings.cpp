// The warning monitor (docs/warnings.md). One scan per sample keeps a few bounded heaps of
// candidates; the history it needs across samples is kept for those candidates only.
#include "agner/introspect/warnings.hpp"

#include <algorithm>
#include <queue>

#include <fmt/format.h>

#include "agner/runtime/supervisor.hpp"

namespace agner::introspect {
namespace {

/// The `n` samples with the largest value, ties by the smaller pid (so the set does not jitter).
class largest {
 public:
  explicit largest(std::size_t n) : n_(n) {}
  void offer(const process_sample& s, std::uint64_t value) {
    if (n_ == 0) return;
    if (kept_.size() < n_) return kept_.push({value, s});
    if (better({value, s}, kept_.top())) {
      kept_.pop();
      kept_.push({value, s});
    }
  }
  /// Largest first.
  std::vector<process_sample> take() {
    std::vector<process_sample> out;
    while (!kept_.empty()) {
      out.push_back(kept_.top().second);
      kept_.pop();
    }
    std::reverse(out.begin(), out.end());
    return out;
  }

 private:
  using entry = std::pair<std::uint64_t, process_sample>;
  static bool better(const entry& a, const entry& b) {
    return a.first != b.first ? a.first > b.first : a.second.id < b.second.id;
  }
  struct worse_on_top {
    bool operator()(const entry& a, const entry& b) const { return better(a, b); }
  };
  std::size_t n_;
  std::priority_queue<entry, std::vector<entry>, worse_on_top> kept_;
};

template <class Deque>
bool rising(const Deque& d) {
  for (std::size_t i = 1; i < d.size(); ++i)
    if (d[i] <= d[i - 1]) return false;
  return true;
}

std::size_t kind_rank(std::string_view kind) {
  for (std::size_t i = 0; i < std::size(warning_kinds); ++i)
    if (warning_kinds[i] == kind) return i;
  return std::size(warning_kinds);
}

std::string size_text(std::uint64_t b) {
  if (b >= (1ull << 30)) return fmt::format("{:.1f} GiB", static_cast<double>(b) / (1ull << 30));
  if (b >= (1ull << 20)) return fmt::format("{:.1f} MiB", static_cast<double>(b) / (1ull << 20));
  if (b >= 1024) return fmt::format("{:.1f} KiB", static_cast<double>(b) / 1024);
  return fmt::format("{} B", b);
}

}  // namespace

std::string warning_monitor::name_of(const runtime& rt, pid p) const {
  auto info = rt.process_info(p);
  if (!info) return {};
  return info->registered_name.empty() ? info->behaviour : info->registered_name;
}

void warning_monitor::sample(runtime& rt, std::int64_t now_ms) {
  const warning_thresholds& t = t_;
  const std::size_t n = t.candidates;
  largest by_queue(n), by_memory(n), old(n), full(n);
  rt.scan([&](const process_sample& s) {
    if (s.message_queue_len) by_queue.offer(s, s.message_queue_len);
    by_memory.offer(s, s.memory);
    if (s.oldest_message_age_ms >= t.old_message_ms && s.message_queue_len) old.offer(s, s.oldest_message_age_ms);
    if (s.max_len && s.message_queue_len >= s.max_len) full.offer(s, s.message_queue_len);
  });
  ++samples_;
  std::vector<warning_row> rows;
  auto raise = [&](std::string kind, pid who, std::string message, std::uint64_t value, std::uint64_t threshold) {
    rows.push_back({std::move(kind), who, name_of(rt, who), std::move(message), value, threshold, 0, {}});
  };

  // queue_growing: the candidates' lengths over the last K samples.
  std::map<pid, queue_history> queues;
  for (auto& s : by_queue.take()) {
    auto& h = queues[s.id];
    if (auto it = queues_.find(s.id); it != queues_.end()) h = std::move(it->second);
    h.lengths.push_back(s.message_queue_len);
    while (h.lengths.size() > t.queue_growth_samples + 1) h.lengths.pop_front();
    if (h.lengths.size() == t.queue_growth_samples + 1 && rising(h.lengths) && s.message_queue_len >= t.queue_growth_min)
      raise("queue_growing", s.id,
            fmt::format("its queue grew in each of the last {} samples: {} to {} messages", t.queue_growth_samples,
                        h.lengths.front(), h.lengths.back()),
            s.message_queue_len, t.queue_growth_min);
  }
  queues_ = std::move(queues);

  // old_message
  for (auto& s : old.take())
    raise("old_message", s.id,
          fmt::format("its oldest queued message has waited {} ms (threshold {} ms; {} queued)", s.oldest_message_age_ms,
                      t.old_message_ms, s.message_queue_len),
          s.oldest_message_age_ms, t.old_message_ms);

  // mailbox_dropping: the node counts drops per scheduler, not per process, so every bounded
  // mailbox found full in a sample during which the node dropped messages is named.
  const std::uint64_t dropped = rt.messages().dropped;
  const std::uint64_t drops = samples_ > 1 && dropped > dropped_before_ ? dropped - dropped_before_ : 0;
  dropped_before_ = dropped;
  if (drops)
    for (auto& s : full.take())
      raise("mailbox_dropping", s.id,
            fmt::format("its bounded mailbox is full ({} of max_len {}) and the node dropped {} messages since the last sample",
                        s.message_queue_len, s.max_len, drops),
            drops, s.max_len);

  // memory_growing: memory at the first sample after each collection, for the largest processes.
  std::map<pid, memory_history> memory;
  for (auto& s : by_memory.take()) {
    auto& h = memory[s.id];
    auto it = memory_.find(s.id);
    if (it == memory_.end()) {
      h.gc_runs = s.gc_runs;
      continue;
    }
    h = std::move(it->second);
    if (s.gc_runs > h.gc_runs) {
      h.gc_runs = s.gc_runs;
      h.after.push_back(s.memory);
      while (h.after.size() > t.memory_growth_collections + 1) h.after.pop_front();
    }
    if (h.after.size() == t.memory_growth_collections + 1 && rising(h.after) &&
        h.after.back() - h.after.front() >= t.memory_growth_min_bytes)
      raise("memory_growing", s.id,
            fmt::format("it held more memory after each of its last {} collections: {} to {}", t.memory_growth_collections,
                        size_text(h.after.front()), size_text(h.after.back())),
            h.after.back() - h.after.front(), t.memory_growth_min_bytes);
  }
  memory_ = std::move(memory);

  // restart_intensity: what each supervisor publishes (supervisor::report: no message, no parsing;
  // one busy in a handler right now is skipped this sample).
  const auto sups = supervisor::all(rt);
  for (std::size_t i = 0; i < sups.size() && i < max_supervisors; ++i) {
    const auto r = supervisor::report(rt, sups[i], 0, std::chrono::milliseconds(0));
    if (r.result != supervisor_report::outcome::ok || r.flags.intensity <= 0 || r.restarts == 0) continue;
    const std::uint64_t intensity = static_cast<std::uint64_t>(r.flags.intensity);
    const std::uint64_t percent = r.restarts * 100 / intensity;
    if (percent >= t.restart_intensity_percent)
      raise("restart_intensity", sups[i],
            fmt::format("{} restarts in the last {} ms, of the {} it allows: past {} it shuts down its children and exits",
                        r.restarts, r.flags.period.count(), intensity, intensity),
            percent, t.restart_intensity_percent);
  }

  // since: when each (kind, pid) was first raised in an unbroken run of samples.
  std::map<std::pair<std::string, pid>, std::int64_t> seen;
  for (auto& r : rows) {
    const auto key = std::make_pair(r.kind, r.id);
    auto it = first_seen_.find(key);
    const std::int64_t since = it == first_seen_.end() ? now_ms : it->second;
    r.since_ms = static_cast<std::uint64_t>(since);
    seen[key] = since;
  }
  first_seen_ = std::move(seen);
  sampled_ = std::move(rows);
}

void warning_monitor::watch_schedulers(const runtime& rt, std::int64_t now_ms) {
  const auto scheds = rt.schedulers();
  held_.resize(scheds.size());
  for (std::size_t i = 0; i < scheds.size(); ++i) {
    const auto& s = scheds[i];
    held& h = held_[i];
    const bool same = s.running && h.who == s.running && h.handler == s.handling && h.reductions == s.reductions &&
                      h.context_switches == s.context_switches;
    if (same) {
      const auto held_ms = static_cast<std::uint64_t>(now_ms - h.since_ms);
      if (held_ms < t_.long_handler_ms) continue;
      auto it = std::find_if(long_handlers_.begin(), long_handlers_.end(),
                             [&](const long_handler& l) { return l.who == h.who && l.since_ms == h.since_ms; });
      if (it == long_handlers_.end()) {
        if (long_handlers_.size() >= t_.candidates) long_handlers_.erase(long_handlers_.begin());  // the oldest
        long_handlers_.push_back({h.who, name_of(rt, h.who), h.handler, held_ms, h.since_ms, 0});
      } else {
        it->held_ms = held_ms;
      }
      continue;
    }
    for (auto& l : long_handlers_)
      if (l.who == h.who && l.since_ms == h.since_ms && l.ended_ms == 0) l.ended_ms = now_ms;
    h = held{s.running, s.handling, s.reductions, s.context_switches, now_ms};
  }
  last_watch_ms_ = now_ms;
  std::erase_if(long_handlers_, [&](const long_handler& l) {
    return l.ended_ms && now_ms - l.ended_ms > static_cast<std::int64_t>(t_.long_handler_keep_ms);
  });
}

std::vector<warning_row> warning_monitor::current() const {
  std::vector<warning_row> out = sampled_;
  for (auto& l : long_handlers_) {
    std::string message =
        l.ended_ms ? fmt::format("a {} handler held its scheduler for at least {} ms without yielding (returned {} s ago)",
                                 l.handler.empty() ? "message" : l.handler, l.held_ms,
                                 std::max<std::int64_t>(0, last_watch_ms_ - l.ended_ms) / 1000)
                   : fmt::format("a {} handler has held its scheduler for {} ms without yielding, and still runs",
                                 l.handler.empty() ? "message" : l.handler, l.held_ms);
    out.push_back({"never_yielded", l.who, l.name, std::move(message), l.held_ms, t_.long_handler_ms,
                   static_cast<std::uint64_t>(l.since_ms), l.handler});
  }
  std::sort(out.begin(), out.end(), [](const warning_row& a, const warning_row& b) {
    const auto ka = kind_rank(a.kind), kb = kind_rank(b.kind);
    return ka != kb ? ka < kb : a.id < b.id;
  });
  if (out.size() > max_warnings) out.resize(max_warnings);
  return out;
}

}  // namespace agner::introspect
