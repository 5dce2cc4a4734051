#pragma once
/// The node's warning monitor (docs/warnings.md): samples a bounded set of processes and keeps
/// what it needs across samples to say which queues grow, which messages wait too long, which
/// handler never yielded, which supervisor nears its restart intensity, which bounded mailbox
/// drops and which process keeps more memory after each collection.
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "agner/snapshot/warning_rows.hpp"
#include "agner/runtime/runtime.hpp"

namespace agner::introspect {

/// Not thread-safe: one thread (the attach server's) calls everything.
class warning_monitor {
 public:
  /// At most this many warnings are kept and returned: the first by kind, then by pid.
  static constexpr std::size_t max_warnings = 200;
  /// At most this many supervisors are read per sample (in supervisor::all's order, by pid).
  static constexpr std::size_t max_supervisors = 10'000;

  explicit warning_monitor(warning_thresholds t = {}) : t_(t) {}
  /// New thresholds; what was learnt about processes is kept. O(1).
  void configure(const warning_thresholds& t) { t_ = t; }
  const warning_thresholds& thresholds() const noexcept { return t_; }

  /// One sample at `now_ms` (wall clock, ms since the epoch; tests pass their own). Cost: one
  /// runtime::scan (every slot ever used, two cache lines each) keeping bounded heaps of
  /// `candidates` processes per kind; a registry lookup for each warning; supervisor::report for
  /// each live supervisor, at most max_supervisors (a try_lock and a copy of its restart times: no
  /// message, no wait; about a microsecond each). Memory: O(candidates × (queue_growth_samples +
  /// memory_growth_collections)).
  void sample(runtime& rt, std::int64_t now_ms);
  /// Looks at what each scheduler runs, for never_yielded: a scheduler seen running the same
  /// handler of the same process, with no message handled in between, since `now_ms - held` has
  /// held it that long. Call it often (the server: every 100 ms while watched). O(schedulers).
  void watch_schedulers(const runtime& rt, std::int64_t now_ms);
  /// The warnings as of the last sample (never_yielded: as of the last watch), at most
  /// max_warnings, by kind then pid. O(warnings).
  std::vector<warning_row> current() const;
  /// Whether sample() ran at least once.
  bool sampled() const noexcept { return samples_ > 0; }

 private:
  struct queue_history {
    std::deque<std::uint64_t> lengths;  // the last queue_growth_samples + 1, oldest first
    std::int64_t growing_since = 0;
  };
  struct memory_history {
    std::uint64_t gc_runs = 0;
    std::deque<std::uint64_t> after;  // memory at the first sample after each collection, oldest first
    std::int64_t growing_since = 0;
  };
  struct held {  // what one scheduler ran when first seen
    pid who;
    std::string handler;
    std::uint64_t reductions = 0, context_switches = 0;
    std::int64_t since_ms = 0;
  };
  struct long_handler {
    pid who;
    std::string name, handler;
    std::uint64_t held_ms = 0;
    std::int64_t since_ms = 0, ended_ms = 0;  // ended_ms 0: still running
  };
  std::string name_of(const runtime& rt, pid p) const;

  warning_thresholds t_;
  std::uint64_t samples_ = 0;
  std::uint64_t dropped_before_ = 0;
  std::int64_t last_watch_ms_ = 0;
  std::map<pid, queue_history> queues_;
  std::map<pid, memory_history> memory_;
  std::map<std::pair<std::string, pid>, std::int64_t> first_seen_;  // (kind, pid) -> since
  std::vector<held> held_;                 // by scheduler
  std::vector<long_handler> long_handlers_;  // at most candidates
  std::vector<warning_row> sampled_;       // every kind but never_yielded, as of the last sample
};

}  // namespace agner::introspect
