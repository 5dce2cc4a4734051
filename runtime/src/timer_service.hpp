#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "agner/runtime/clock.hpp"
#include "timer_wheel.hpp"

namespace agner::detail {

struct node_state;
class scheduler;

/// Timers for one runtime, as cheap to start and cancel as a send is.
///
/// Starting a timer takes a node from the caller's lane (one per scheduler, one shared by other
/// threads) and pushes it onto that lane's inbox with one compare-and-swap; no lock, and no wake-up
/// of the timer thread unless the new deadline is earlier than the one it sleeps toward. Cancelling
/// is one compare-and-swap on the node's state. One thread (or, with a manual clock, whoever
/// advances it) drains the inboxes every few milliseconds while timers come in, frees the nodes
/// cancelled meanwhile (a request answered in time never reaches the wheel), files the others in
/// the wheel and fires what falls due. A timer whose target has died by then is dropped, not sent.
class timer_service {
 public:
  timer_service(node_state& node, std::shared_ptr<clock> clk);
  ~timer_service();
  timer_service(const timer_service&) = delete;
  timer_service& operator=(const timer_service&) = delete;

  /// Sends `m` (owned from here on) to `to` once `delay` has passed; returns the timer's id, never
  /// 0. `local`: the calling scheduler, or nullptr from any other thread. Thread-safe; lock-free
  /// from a scheduler. Throws std::length_error past 16,777,216 pending timers.
  std::uint64_t start(clock::duration delay, pid to, message* m, scheduler* local);
  /// The same for a request's timeout: sends request_timeout_signal{ref} to `to`, built only if it
  /// fires.
  std::uint64_t start_request_timeout(clock::duration delay, pid to, std::uint64_t ref, scheduler* local);
  /// True if the timer was pending and now never fires (its message is destroyed here). False for a
  /// timer that fired, was cancelled, or never existed. Thread-safe, lock-free.
  bool cancel(std::uint64_t id);
  /// Timers whose target had died when they fell due. Any thread.
  std::uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }
  const clock& time() const noexcept { return *clock_; }

  /// How long started timers may wait in an inbox before the timer thread looks at them.
  static constexpr std::int64_t sweep_ms = 10;

 private:
  struct lane;
  struct due_timer {
    std::int64_t deadline_ms;
    std::uint64_t seq;
    pid to;
    message* msg;
    std::uint64_t ref;
  };
  struct free_chain {
    timer_node* head = nullptr;
    timer_node* tail = nullptr;
  };

  std::uint64_t start_node(clock::duration delay, pid to, message* m, std::uint64_t ref, scheduler* local);
  clock::time_point now() const;
  timer_node* take_node(lane& l);
  void grow(lane& l);
  timer_node* node_at(std::uint64_t id) const noexcept;
  void wake_for(std::int64_t wake_by);

  // The owner side (the timer thread or a manual clock's advance), under work_mutex_.
  struct drained {
    bool any = false;
    std::int64_t earliest = INT64_MAX;
  };
  drained drain_inboxes(std::int64_t now);
  drained fire_due(std::int64_t now);
  bool settle_cancelled(timer_node* n);
  void release(timer_node* n);
  void return_released();
  void loop();

  node_state& node_;
  std::shared_ptr<clock> clock_;
  const bool steady_;  // the default clock: read std::chrono::steady_clock without a virtual call
  std::vector<std::unique_ptr<lane>> lanes_;  // one per scheduler, then one for other threads
  std::mutex outside_mutex_;                  // the last lane's owner side

  static constexpr std::uint32_t chunk_nodes = 1024;
  static constexpr std::uint32_t max_chunks = 16384;
  std::unique_ptr<std::atomic<timer_node*>[]> chunks_;  // never shrinks while the service lives
  std::uint32_t chunk_count_ = 0;                       // under chunk_mutex_
  std::mutex chunk_mutex_;

  // Owned by whoever holds work_mutex_.
  std::mutex work_mutex_;
  timer_wheel wheel_;
  timer_node* staging_ = nullptr;  // far deadlines drained last time: filed next time if still pending
  std::vector<due_timer> due_;
  std::vector<free_chain> released_;  // per lane, handed back at the end of a round

  // The timer thread's sleep: it wakes by itself at next_wake_ (ms); a start whose deadline is
  // earlier lowers it and notifies.
  std::atomic<std::int64_t> next_wake_;
  std::mutex sleep_mutex_;
  std::condition_variable sleep_;
  bool stopping_ = false;  // under sleep_mutex_

  std::atomic<std::uint64_t> dropped_{0};
  std::uint64_t subscription_ = 0;
  std::thread thread_;
};

}  // namespace agner::detail
