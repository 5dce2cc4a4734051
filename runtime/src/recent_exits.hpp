#pragma once
// The exit reasons of the last processes that ended, so that a reader who asks about a pid that just
// died (etop inspecting it, process_info over the wire) learns why instead of "no such process".
#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "agner/snapshot/pid.hpp"

namespace agner::detail {

class recent_exits {
 public:
  /// How many exits are remembered (the oldest is forgotten first) and how much of each reason.
  static constexpr std::size_t capacity = 1024;
  static constexpr std::size_t max_reason_bytes = 256;

  /// Any thread (the terminating scheduler). Cost: one uncontended mutex and a string copy of at
  /// most max_reason_bytes, once per process exit (never per message).
  void record(pid who, std::string_view reason) {
    std::lock_guard lock(mutex_);
    entry& e = ring_[next_++ % capacity];
    e.who = who;
    e.reason.assign(reason.substr(0, max_reason_bytes));
  }

  /// Why `who` ended, if it is among the last `capacity` exits. Any thread; O(capacity) under the mutex.
  std::optional<std::string> find(pid who) const {
    std::lock_guard lock(mutex_);
    for (const entry& e : ring_)
      if (e.who == who && who) return e.reason;
    return std::nullopt;
  }

 private:
  struct entry {
    pid who{};
    std::string reason;
  };
  mutable std::mutex mutex_;
  std::array<entry, capacity> ring_{};
  std::uint64_t next_ = 0;
};

}  // namespace agner::detail
