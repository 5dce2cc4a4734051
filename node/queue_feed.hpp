#pragma once
// The runtime's queue watch as the alarm engine's per-process events.
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "agner/alarms/engine.hpp"
#include "agner/runtime/runtime.hpp"

namespace agner::node {

class queue_feed {
 public:
  /// Most events kept between two drains; past it new ones are dropped (the watch reports the
  /// process again when it crosses back and forth).
  static constexpr std::size_t max_pending = 100'000;

  /// Keeps `e` for the next drain. The runtime's watch_queues callback: runs on scheduler and
  /// sender threads. Thread-safe; a mutex held for one push.
  void push(const queue_event& e);
  /// Hands the events kept since the last drain to `engine` as process_event, in order, at
  /// `now_ms`. The source is "PID NAME" (NAME the registered name, if any) as the process was when
  /// its alarm began, so the clear finds it even after the process and its name are gone.
  /// One thread only (the alarm ticker). O(events), one runtime::process_info per raise.
  void drain(const runtime& rt, alarms::engine& engine, std::int64_t now_ms);

 private:
  std::mutex mutex_;
  std::vector<queue_event> pending_;
  std::map<std::pair<std::string, bool>, std::string> sources_;  // (pid, length?) -> source, while raised; drain's only
};

}  // namespace agner::node
