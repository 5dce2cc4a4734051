#pragma once
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

#include "agner/runtime/clock.hpp"
#include "timer_wheel.hpp"

namespace agner::detail {

struct node_state;

/// Timers for one runtime: a wheel behind a mutex, fired by one thread that sleeps until the next
/// deadline (or, with a manual clock, by whoever advances it). A timer whose target has died by the
/// time it falls due is dropped, not sent.
class timer_service {
 public:
  timer_service(node_state& node, std::shared_ptr<clock> clk);
  ~timer_service();
  timer_service(const timer_service&) = delete;
  timer_service& operator=(const timer_service&) = delete;

  /// Thread-safe. Takes ownership of `m`.
  std::uint64_t start(clock::duration delay, pid to, message* m);
  /// Thread-safe. True if the timer was pending and now never fires.
  bool cancel(std::uint64_t id);
  std::size_t pending() const;
  std::uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }
  const clock& time() const noexcept { return *clock_; }

 private:
  static std::int64_t to_ms(clock::time_point t);
  void fire_due(clock::time_point now);
  void loop();

  node_state& node_;
  std::shared_ptr<clock> clock_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  timer_wheel wheel_;
  std::uint64_t next_id_ = 1;
  bool stopping_ = false;
  std::atomic<std::uint64_t> dropped_{0};
  std::uint64_t subscription_ = 0;
  std::thread thread_;
};

}  // namespace agner::detail
