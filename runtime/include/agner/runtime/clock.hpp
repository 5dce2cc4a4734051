#pragma once
/// The time source for timers and supervisors. Injected, so tests drive time by hand.
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

namespace agner {

class clock {
 public:
  using duration = std::chrono::nanoseconds;
  using time_point = std::chrono::time_point<std::chrono::steady_clock, duration>;
  virtual ~clock() = default;
  /// Thread-safe. Never goes backwards.
  virtual time_point now() const = 0;
  /// True when time moves only by advance() (see manual_clock); the runtime then runs no timer thread.
  virtual bool manual() const { return false; }
};

/// std::chrono::steady_clock.
class steady_clock final : public clock {
 public:
  time_point now() const override { return std::chrono::steady_clock::now(); }
};

/// A clock that moves only when told. advance() fires every timer that falls due, on the calling
/// thread, before it returns (their messages are sent; handlers run later on the schedulers).
class manual_clock final : public clock {
 public:
  time_point now() const override {
    std::lock_guard lock(mutex_);
    return now_;
  }
  bool manual() const override { return true; }
  /// Thread-safe.
  void advance(duration d);

  /// Internal: the runtime's timer service listens here. Returns a handle for unsubscribe.
  std::uint64_t subscribe(std::function<void(time_point)> on_advance);
  void unsubscribe(std::uint64_t handle);

 private:
  mutable std::mutex mutex_;
  time_point now_{};
  std::uint64_t next_handle_ = 1;
  std::vector<std::pair<std::uint64_t, std::function<void(time_point)>>> listeners_;
};

}  // namespace agner
