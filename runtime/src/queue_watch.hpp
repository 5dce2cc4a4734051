#pragma once
/// The queue watch (runtime::watch_queues): flags a process whose queue grows long or old, from
/// the sender's side as it queues, and clears the flag from the owner's side. Never a scan.
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>

#include "agner/runtime/runtime.hpp"
#include "process.hpp"

namespace agner::detail {

class queue_watch {
 public:
  /// Whether any threshold is set: the one load a send pays while the watch is off. Any thread.
  /// Acquire: a sender that sees it on also sees the notify function set before it was turned on.
  bool on() const noexcept { return watching_.load(std::memory_order_acquire); }

  /// Sets the function called on each event (runtime::watch_queues). Throws std::logic_error while
  /// a threshold is set, since senders may be calling the old one. Any thread; takes the watch's mutex.
  void set_notify(std::function<void(const queue_event&)> notify);
  /// Sets the thresholds, 0 turning a check off (runtime::set_queue_watch); `short_len` and
  /// `young_ms` are clamped below `long_len` and `old_ms`. Throws std::logic_error before
  /// set_notify. Any thread; takes the watch's mutex.
  void set(std::uint32_t long_len, std::uint32_t short_len, std::uint32_t old_ms, std::uint32_t young_ms);

  /// The sender, after queueing on `p` (only when on()). `woke`: this send woke the owner; its
  /// published oldest time is then from before, and only counts if older messages are queued (a
  /// suspended owner). Any thread; lock-free; may call notify.
  [[gnu::cold]] void on_send(process* p, pid to, std::uint32_t now_ms, bool woke);
  /// The owner, at a slice end, going idle or ending (only when on()): clears what no longer
  /// holds. The owner's scheduler thread; lock-free; may call notify.
  void on_owner(process* p, std::uint32_t now_ms, bool ending = false);

 private:
  std::atomic<bool> watching_{false};
  std::atomic<std::uint32_t> long_{0}, short_{0}, old_ms_{0}, young_ms_{0};
  std::mutex mutex_;  // set_notify and set against each other; never on the message path
  std::function<void(const queue_event&)> notify_;  // written under mutex_ while !watching_ only
};

}  // namespace agner::detail
