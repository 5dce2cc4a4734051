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

class deliver_hook;
class scheduler;

/// Timers for one runtime, as cheap to start and cancel as a send is.
///
/// Starting a timer takes a node from the caller's lane (one per scheduler, one shared by other
/// threads): no lock, and no wake-up of the timer thread unless the new deadline is earlier than
/// the one it sleeps toward. Cancelling is one compare-and-swap on the node's state.
/// - A short timer goes onto the lane's inbox (one compare-and-swap). One thread (or, with a manual
///   clock, whoever advances it) drains the inboxes every few milliseconds while timers come in,
///   files the timers in the wheel and fires what falls due.
/// - A long one (a request's timeout, most often, answered long before it expires) waits in the
///   lane's young ring first: its scheduler frees the cancelled ones at the front itself, so their
///   memory never leaves its cache, and hands on what survives a round (or a full ring) to the
///   timer thread.
/// A timer whose target has died when it falls due is dropped, not sent.
class timer_service {
 public:
  /// `lanes`: one per scheduler plus one for other threads. Fired timers go through `deliver`.
  timer_service(deliver_hook& deliver, std::size_t lanes, std::shared_ptr<clock> clk);
  ~timer_service();
  timer_service(const timer_service&) = delete;
  timer_service& operator=(const timer_service&) = delete;

  /// Sends `m` (owned from here on) to `to` once `delay` has passed; returns the timer's id, never
  /// 0. `local`: the calling scheduler, or nullptr from any other thread. Thread-safe; lock-free
  /// from a scheduler. Throws std::length_error past 16,777,216 pending timers.
  std::uint64_t start(clock::duration delay, pid to, message* m, scheduler* local);
  /// The same at a deadline from deadline_ms.
  std::uint64_t start_at(std::int64_t deadline_ms, pid to, message* m, scheduler* local);
  /// The deadline of a timer of `delay` started now: milliseconds on the runtime's clock, rounded
  /// up so that it never falls early (from 100 ms on, read on the coarse clock: a few ms later).
  /// Thread-safe.
  std::int64_t deadline_ms(clock::duration delay) const;
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
  };
  struct free_chain {
    timer_node* head = nullptr;
    timer_node* tail = nullptr;
  };

  std::uint64_t start_node(std::int64_t deadline_ms, bool young, std::int64_t wake_by, pid to, message* m,
                           scheduler* local);
  clock::time_point now() const;
  /// CLOCK_MONOTONIC_COARSE plus its resolution: never behind steady_clock's now.
  clock::time_point coarse_now() const;
  /// Delays from which a timer is long: it reads the coarse clock, and starts in the young ring.
  static constexpr clock::duration long_from = std::chrono::milliseconds(100);
  clock::duration coarse_resolution_{};
  void push_young(lane& l, timer_node* n);
  void push_inbox(lane& l, timer_node* n);
  static void recycle(lane& l, timer_node* n);
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
  void take_in(timer_node* n, std::int64_t now, drained& d);
  void claim_young(lane& l, std::int64_t now, drained& d);
  drained fire_due(std::int64_t now);
  bool settle_cancelled(timer_node* n);
  void release(timer_node* n);
  void return_released();
  void loop();

  deliver_hook& deliver_;
  std::shared_ptr<clock> clock_;
  const bool steady_;  // the default clock: read std::chrono::steady_clock without a virtual call
  const bool manual_;  // no timer thread: time moves (and timers fire) in manual_clock::advance
  std::vector<std::unique_ptr<lane>> lanes_;  // one per scheduler, then one for other threads
  std::mutex outside_mutex_;                  // the last lane's owner side

  static constexpr std::uint32_t chunk_nodes = 1024;
  static constexpr std::uint32_t max_chunks = 16384;
  std::atomic<std::atomic<timer_node*>*> chunks_{nullptr};  // max_chunks; never shrinks while the service lives
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
