#pragma once
/// A process's mailbox: multi-producer, single-consumer, FIFO per producer, lock-free.
///
/// Producers push onto an intrusive LIFO stack with one CAS. The owner takes the whole stack with one
/// exchange (absorb) and appends it, reversed, to a private FIFO queue, so popping uses no atomics. The
/// head also carries the owner's state: `blocked` (idle: the producer that replaces it must schedule
/// the owner) and `closed` (dead: pushes fail and become dead letters). Lengths come from two
/// monotonic counters, `pushed` (producers) and `popped` (owner), so reading one is two loads.
#include <atomic>
#include <cstdint>

#include "agner/runtime/message.hpp"

namespace agner::detail {

class mailbox {
 public:
  enum class push_result : std::uint8_t { queued, woke_owner, closed, full };
  enum class overflow : std::uint8_t { reject, drop_newest, drop_oldest };

  mailbox() = default;
  mailbox(const mailbox&) = delete;
  mailbox& operator=(const mailbox&) = delete;

  // --- any thread ---------------------------------------------------------------------------

  /// Queues `m` unless the mailbox is closed. `woke_owner` means the owner was idle and the caller
  /// must now schedule it. On `closed` the caller still owns `m`.
  push_result push(message* m) noexcept {
    // A bounded mailbox refuses at the door (reject, drop_newest); signals always get in. Concurrent
    // senders may each pass the check, so the bound can be exceeded by their number, briefly.
    if (const auto max = max_len_.load(std::memory_order_relaxed);
        max && !m->signal() && policy() != overflow::drop_oldest && length() >= max)
      return push_result::full;
    const std::uint64_t counted = packed(m);
    pushed_.fetch_add(counted, std::memory_order_relaxed);  // before the push: length never goes negative
    message* head = head_.load(std::memory_order_relaxed);
    for (;;) {
      if (head == closed_tag()) {
        pushed_.fetch_sub(counted, std::memory_order_relaxed);
        return push_result::closed;
      }
      m->next = head == blocked_tag() ? nullptr : head;
      if (head_.compare_exchange_weak(head, m, std::memory_order_acq_rel, std::memory_order_relaxed))
        return head == blocked_tag() ? push_result::woke_owner : push_result::queued;
    }
  }

  /// Serial of the current owner; a pid whose serial differs designates a dead process.
  std::uint32_t serial() const noexcept { return serial_.load(std::memory_order_acquire); }

  /// Messages pushed and not yet popped. Exact once producers are quiet; never negative.
  std::uint64_t length() const noexcept { return static_cast<std::uint32_t>(queued()); }
  /// Bytes of the envelopes pushed and not yet popped (see message::bytes).
  std::uint64_t bytes() const noexcept { return static_cast<std::uint32_t>(queued() >> 32); }


  /// The queue watch's flags (any thread): set by a sender that finds the queue long or old,
  /// cleared by the owner once it is short and young again.
  static constexpr std::uint8_t watch_long = 1, watch_old = 2;
  std::uint8_t watch_flags() const noexcept { return watch_flags_.load(std::memory_order_relaxed); }
  /// True if this call set `flag` (it was not set before).
  bool raise_watch_flag(std::uint8_t flag) noexcept { return !(watch_flags_.fetch_or(flag, std::memory_order_relaxed) & flag); }
  bool drop_watch_flag(std::uint8_t flag) noexcept { return watch_flags_.fetch_and(static_cast<std::uint8_t>(~flag), std::memory_order_relaxed) & flag; }

  /// When the oldest queued message was sent, on the coarse clock; 0 when none is known. As of the
  /// owner's last slice start, or the wake-up if it has not run since.
  std::uint32_t oldest_ms() const noexcept { return oldest_ms_.load(std::memory_order_relaxed); }
  /// The producer that woke the owner (push returned woke_owner) notes its message's send time.
  void note_oldest(std::uint32_t ms) noexcept { oldest_ms_.store(ms, std::memory_order_relaxed); }

  /// 0 when unbounded. Set by open(); read by producers and, for drop_oldest, by the owner.
  std::uint32_t max_len() const noexcept { return max_len_.load(std::memory_order_relaxed); }
  overflow policy() const noexcept { return policy_.load(std::memory_order_relaxed); }

  // --- the owner only ------------------------------------------------------------------------

  /// Takes what producers have pushed since the last call into the owner's queue, oldest first,
  /// first offering each signal to `early(m)`: if that returns true it has dealt with `m` (which no
  /// longer counts as queued). True if anything was taken.
  template <class F>
  bool absorb(F&& early) {
    if (head_.load(std::memory_order_relaxed) == nullptr) return false;
    message* newest = head_.exchange(nullptr, std::memory_order_acquire);
    // Reverse into FIFO order, noting whether any signal came in: usually none did, and the whole
    // batch joins the queue in one step.
    message* oldest = nullptr;
    bool signals = false;
    for (message* m = newest; m;) {
      message* next = m->next;
      m->next = oldest;
      oldest = m;
      signals |= m->signal();
      m = next;
    }
    if (!signals) {
      append(oldest, newest);
      return true;
    }
    std::uint64_t consumed = 0;
    for (message* m = oldest; m;) {
      message* next = m->next;
      const std::uint64_t counted = packed(m);  // read before early(), which may destroy m
      if (m->signal() && early(m)) {
        consumed += counted;
      } else {
        m->next = nullptr;
        append(m, m);
      }
      m = next;
    }
    if (consumed) popped_.store(popped_.load(std::memory_order_relaxed) + consumed, std::memory_order_relaxed);
    return true;
  }

  /// The oldest message in the owner's queue (see absorb), or nullptr.
  message* pop() noexcept {
    message* m = cache_;
    if (m) {
      cache_ = m->next;
      popped_.store(popped_.load(std::memory_order_relaxed) + packed(m), std::memory_order_relaxed);
    }
    return m;
  }

  /// Publishes the send time of the oldest message in the owner's queue (0 if it is empty).
  void publish_oldest() noexcept { oldest_ms_.store(cache_ ? cache_->sent_ms : 0, std::memory_order_relaxed); }

  /// Calls `f(const message&)` for the owner's queue, oldest first, until it returns false.
  template <class F>
  void for_each_queued(F&& f) const {
    for (const message* m = cache_; m; m = m->next)
      if (!f(*m)) return;
  }

  /// Marks the mailbox blocked even though the owner's queue is not empty (a suspended owner), unless
  /// producers pushed something meanwhile. After true the caller must not touch the owner again.
  bool try_block_keeping_queue() noexcept {
    message* expected = nullptr;
    return head_.compare_exchange_strong(expected, blocked_tag(), std::memory_order_acq_rel,
                                         std::memory_order_relaxed);
  }

  /// If nothing is queued, marks the mailbox blocked and returns true: the owner is now idle and the
  /// next push will report `woke_owner`. After true the caller must not touch the owner again.
  bool try_block() noexcept {
    if (cache_) return false;
    message* expected = nullptr;
    return head_.compare_exchange_strong(expected, blocked_tag(), std::memory_order_acq_rel,
                                         std::memory_order_relaxed);
  }

  /// Closes the mailbox, retires the owner's serial and returns what was still queued, oldest first
  /// (the caller counts and destroys them). Later pushes fail.
  message* close() noexcept {
    serial_.store(serial_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    message* rest = reverse(head_.exchange(closed_tag(), std::memory_order_acq_rel));
    message* all = cache_;
    if (!all) {
      all = rest;
    } else {
      message* tail = all;
      while (tail->next) tail = tail->next;
      tail->next = rest;
    }
    cache_ = nullptr;
    std::uint64_t n = 0;
    for (message* m = all; m; m = m->next) n += packed(m);
    popped_.store(popped_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    return all;
  }

  /// Reopens a closed mailbox for a new owner, idle (`blocked`) or about to run (`runnable`).
  /// Only the thread that owns the slot may call it. Returns the new owner's serial.
  std::uint32_t open(bool runnable, std::uint32_t max_len = 0, overflow policy = overflow::reject) noexcept {
    max_len_.store(max_len, std::memory_order_relaxed);
    policy_.store(policy, std::memory_order_relaxed);
    watch_flags_.store(0, std::memory_order_relaxed);
    head_.store(runnable ? nullptr : blocked_tag(), std::memory_order_release);
    return serial_.load(std::memory_order_relaxed);
  }

 private:
  void append(message* first, message* last) noexcept {
    (cache_ ? cache_tail_->next : cache_) = first;
    cache_tail_ = last;
  }

  /// One message in the packed counters: 1 in the count, its bytes in the byte count.
  static std::uint64_t packed(const message* m) noexcept { return (std::uint64_t{m->type->size8} << 35) | 1u; }
  /// pushed - popped, or 0 if a racing read saw the owner ahead of the producers.
  std::uint64_t queued() const noexcept {
    auto popped = popped_.load(std::memory_order_relaxed);
    auto pushed = pushed_.load(std::memory_order_relaxed);
    const std::uint64_t d = pushed - popped;
    return static_cast<std::int32_t>(static_cast<std::uint32_t>(d)) < 0 ? 0 : d;
  }

  static message* blocked_tag() noexcept { return reinterpret_cast<message*>(std::uintptr_t{1}); }
  static message* closed_tag() noexcept { return reinterpret_cast<message*>(std::uintptr_t{2}); }

  /// Reverses a pushed stack into FIFO order; tags count as empty.
  static message* reverse(message* m) noexcept {
    if (m == blocked_tag() || m == closed_tag()) return nullptr;
    message* fifo = nullptr;
    while (m) {
      message* next = m->next;
      m->next = fifo;
      fifo = m;
      m = next;
    }
    return fifo;
  }

  // Producers' cache line.
  std::atomic<message*> head_{closed_tag()};
  std::atomic<std::uint64_t> pushed_{0};
  std::atomic<std::uint32_t> serial_{0};
  std::atomic<std::uint32_t> max_len_{0};  // atomics: a stale sender may read them during a reopen
  std::atomic<overflow> policy_{overflow::reject};
  std::atomic<std::uint8_t> watch_flags_{0};  // queue watch: flagged long / old (runtime::watch_queues)
  // When the oldest queued message was sent (coarse ms; 0: none known). The sender that wakes the
  // owner writes it; the owner rewrites it when it starts a slice and clears it when it goes idle.
  std::atomic<std::uint32_t> oldest_ms_{0};

 public:
  /// The owner's heap and collection figures, published for readers on other threads. They change
  /// rarely (when the heap grows or is collected), so they share the producers' line: the owner's
  /// line is full.
  struct memory_stats {
    std::atomic<std::uint32_t> minor_gcs{0};
    std::atomic<std::uint32_t> major_gcs{0};
    std::atomic<std::uint64_t> gc_reclaimed{0};
    std::atomic<std::uint64_t> heap_bytes{0};
    std::atomic<std::uint64_t> state_bytes{0};  ///< what the behaviour reports (state_bytes())
  } memory;

 private:
  // The owner's cache line (the process's own fields follow in its tail padding).
  alignas(64) message* cache_ = nullptr;
  message* cache_tail_ = nullptr;  // valid while cache_ is not null
  std::atomic<std::uint64_t> popped_{0};
};

}  // namespace agner::detail
