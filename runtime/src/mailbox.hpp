#pragma once
/// A process's mailbox: multi-producer, single-consumer, FIFO per producer, lock-free.
///
/// Producers push onto an intrusive LIFO stack with one CAS. The owner takes the whole stack with one
/// exchange (absorb) and appends it, reversed, to a private FIFO queue, so popping uses no atomics. The
/// head also carries the owner's state: `blocked` (idle: the producer that replaces it must schedule
/// the owner) and `closed` (dead: pushes fail and become dead letters). Lengths come from two
/// monotonic counters, `pushed` (producers) and `popped` (owner), so reading one is two loads.
///
/// A `drop_oldest` mailbox holds its bound whatever its owner does (suspended, or inside a long
/// handler): a sender that finds it past the bound drops the oldest ordinary messages itself. The
/// owner's side (its queue, the pushed stack below the head, `popped`) is then shared, so both take
/// the consumer lock around it: the owner whenever it is not inside a handler, a sender while it
/// trims. Unbounded and reject/drop_newest mailboxes never take it.
#include <sched.h>

#include <atomic>
#include <cstdint>

#include "agner/runtime/message.hpp"

namespace agner::detail {

class mailbox {
 public:
  /// `past_bound`: a drop_oldest mailbox now holds more than max_len; the caller should trim_as_sender.
  /// `traced`: nothing was pushed; the mailbox's owner is traced, and the caller (which still owns
  /// `m`) traces it and then calls push_traced.
  enum class push_result : std::uint8_t { queued, woke_owner, closed, full, queued_past_bound, woke_owner_past_bound, traced };
  enum class overflow : std::uint8_t { reject, drop_newest, drop_oldest };

  mailbox() = default;
  mailbox(const mailbox&) = delete;
  mailbox& operator=(const mailbox&) = delete;

  // --- any thread ---------------------------------------------------------------------------

  /// Queues `m` unless the mailbox is closed. `woke_owner` means the owner was idle and the caller
  /// must now schedule it. On `closed` the caller still owns `m`.
  push_result push(message* m) noexcept {
    if (max_len_.load(std::memory_order_relaxed) && !m->signal()) [[unlikely]] return push_bounded(m);
    return push_unchecked(m);
  }

  /// Any thread, after push reported past_bound for a message sent to `serial`: drops the oldest
  /// ordinary messages (signals are kept) until at most max_len remain, calling `dropped(m)` for
  /// each (it counts and destroys them). Waits briefly for the consumer lock (the owner holds it
  /// only between handlers) and gives up rather than wait on an owner that sends to itself, so the
  /// bound is exact once senders are quiet, up to the senders racing it. Cost: one drop per excess
  /// message, plus one pass over what was pushed since the owner last took its queue.
  template <class F>
  void trim_as_sender(std::uint32_t serial, F&& dropped) {
    for (int round = 0; round < 4 && length() > max_len(); ++round) {
      if (!try_lock_consumer()) return;
      // close() retires the serial under the lock, so a stale sender never trims a new owner's queue.
      if (serial_.load(std::memory_order_relaxed) == serial && policy() == overflow::drop_oldest)
        trim_oldest(max_len(), dropped);
      if (cache_) oldest_ms_.store(cache_->sent_ms, std::memory_order_relaxed);
      unlock_consumer();
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
  /// Also in the watch flags: a trace holds this process (agner/runtime/trace.hpp), for its own sends
  /// and its end; the sends to it see traced_bit instead. Set and cleared under the registry's mutex.
  static constexpr std::uint8_t watch_traced = 4;
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
  std::uint32_t max_len() const noexcept { return max_len_.load(std::memory_order_relaxed) & ~traced_bit; }

  /// A trace holds the owner (agner/runtime/trace.hpp): the top bit of the bound's word, so that
  /// push's existing test of the bound sends a traced mailbox's messages down the slow path and an
  /// untraced one pays nothing more. Set and cleared under the trace registry's mutex; open() clears it.
  static constexpr std::uint32_t traced_bit = 1u << 31;
  void mark_traced(bool on) noexcept {
    if (on) {
      max_len_.fetch_or(traced_bit, std::memory_order_relaxed);
    } else {
      max_len_.fetch_and(~traced_bit, std::memory_order_relaxed);
    }
  }
  /// push() for a traced mailbox, after the caller traced `m` (push returned `traced`).
  push_result push_traced(message* m) noexcept { return max_len() ? push_within(m, max_len()) : push_unchecked(m); }
  overflow policy() const noexcept { return policy_.load(std::memory_order_relaxed); }

  // --- the owner only ------------------------------------------------------------------------

  /// Takes what producers have pushed since the last call into the owner's queue, oldest first,
  /// first offering each signal to `early(m)`: if that returns true it has dealt with `m` (which no
  /// longer counts as queued). True if anything was taken.
  template <class F>
  [[gnu::always_inline]] bool absorb(F&& early) {
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

  /// The consumer lock of a drop_oldest mailbox (see the class comment). The owner holds it whenever
  /// it is not inside a handler; true if a sender moved signals into the owner's queue meanwhile
  /// (the owner then passes them to absorb_moved).
  bool lock_consumer() noexcept {
    for (unsigned spins = 0;; ++spins) {
      std::uint8_t v = consumer_.load(std::memory_order_relaxed);
      if (!(v & consumer_locked) &&
          consumer_.compare_exchange_weak(v, v | consumer_locked, std::memory_order_acquire, std::memory_order_relaxed))
        return v & consumer_moved_signals;
      relax(spins);
    }
  }
  void unlock_consumer() noexcept {
    consumer_.store(consumer_.load(std::memory_order_relaxed) & ~consumer_locked, std::memory_order_release);
  }

  /// Holding the consumer lock: true if signals were moved into the owner's queue since the last
  /// absorb_moved.
  bool moved_signals() const noexcept { return consumer_.load(std::memory_order_relaxed) & consumer_moved_signals; }

  /// The owner, holding the consumer lock, after lock_consumer returned true: offers each signal a
  /// sender moved into its queue to `early(m)`, as absorb does on arrival.
  template <class F>
  void absorb_moved(F&& early) {
    consumer_.store(consumer_.load(std::memory_order_relaxed) & ~consumer_moved_signals, std::memory_order_relaxed);
    std::uint64_t consumed = 0;
    message* prev = nullptr;
    for (message* m = cache_; m;) {
      message* next = m->next;
      const std::uint64_t counted = packed(m);
      if (m->signal() && early(m)) {  // early() may destroy m
        consumed += counted;
        (prev ? prev->next : cache_) = next;
        if (!next) cache_tail_ = prev;
      } else {
        prev = m;
      }
      m = next;
    }
    if (consumed) popped_.store(popped_.load(std::memory_order_relaxed) + consumed, std::memory_order_relaxed);
  }

  /// Holding the consumer lock (owner or sender): drops the oldest ordinary messages until at most
  /// `max` remain, taking what was pushed into the owner's queue when its own queue holds none.
  template <class F>
  void trim_oldest(std::uint64_t max, F&& dropped) {
    while (length() > max) {
      message* m = unlink_first_ordinary();
      if (!m) {
        if (!take_pushed()) return;
        continue;
      }
      dropped(m);
    }
  }

  /// Reopens a closed mailbox for a new owner, idle (`blocked`) or about to run (`runnable`).
  /// Only the thread that owns the slot may call it. Returns the new owner's serial.
  std::uint32_t open(bool runnable, std::uint32_t max_len = 0, overflow policy = overflow::reject) noexcept {
    max_len_.store(max_len & ~traced_bit, std::memory_order_relaxed);  // bounds past 2^31 - 1 are cut
    policy_.store(max_len ? policy : overflow::reject, std::memory_order_relaxed);  // drop_oldest implies a bound
    watch_flags_.store(0, std::memory_order_relaxed);
    head_.store(runnable ? nullptr : blocked_tag(), std::memory_order_release);
    return serial_.load(std::memory_order_relaxed);
  }

 private:
  /// queued, woke_owner or closed.
  push_result push_unchecked(message* m) noexcept {
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

  /// A bounded mailbox refuses at the door (reject, drop_newest); signals always get in (push does
  /// not come here for them). Concurrent senders may each pass the check, so the bound can be
  /// exceeded by their number, briefly. drop_oldest admits the message and reports past_bound; the
  /// sender then trims.
  [[gnu::cold, gnu::noinline]] push_result push_bounded(message* m) noexcept {
    const std::uint32_t word = max_len_.load(std::memory_order_relaxed);
    if (word & traced_bit) return push_result::traced;
    return push_within(m, word);
  }
  push_result push_within(message* m, std::uint32_t bound) noexcept {
    const bool trims = policy() == overflow::drop_oldest;
    if (!trims && length() >= bound) return push_result::full;
    const push_result r = push_unchecked(m);
    if (r == push_result::closed) return r;
    const bool woke = r == push_result::woke_owner;
    if (trims && length() > bound)
      return woke ? push_result::woke_owner_past_bound : push_result::queued_past_bound;
    return woke ? push_result::woke_owner : push_result::queued;
  }

  static constexpr std::uint8_t consumer_locked = 1, consumer_moved_signals = 2;

  bool try_lock_consumer() noexcept {
    for (unsigned spins = 0; spins < 200; ++spins) {
      std::uint8_t v = consumer_.load(std::memory_order_relaxed);
      if (!(v & consumer_locked) &&
          consumer_.compare_exchange_weak(v, v | consumer_locked, std::memory_order_acquire, std::memory_order_relaxed))
        return true;
      relax(spins);
    }
    return false;
  }
  static void relax(unsigned spins) noexcept {
    if (spins < 64) {
      __builtin_ia32_pause();
    } else {
      sched_yield();  // the holder may be descheduled: on 2 cores spinning would only delay it
    }
  }

  /// Unlinks the oldest non-signal message of the owner's queue and counts it popped, or nullptr.
  message* unlink_first_ordinary() noexcept {
    message* prev = nullptr;
    for (message* m = cache_; m; prev = m, m = m->next) {
      if (m->signal()) continue;
      (prev ? prev->next : cache_) = m->next;
      if (!m->next) cache_tail_ = prev;
      popped_.store(popped_.load(std::memory_order_relaxed) + packed(m), std::memory_order_relaxed);
      return m;
    }
    return nullptr;
  }

  /// Takes what producers pushed into the owner's queue, as absorb does but without applying
  /// signals (they are flagged for the owner's absorb_moved). Leaves the owner's idle state alone:
  /// a real pointer at the head means the owner is already scheduled. True if it took anything.
  bool take_pushed() noexcept {
    message* head = head_.load(std::memory_order_acquire);
    for (;;) {
      if (head == nullptr || head == blocked_tag() || head == closed_tag()) return false;
      if (head_.compare_exchange_weak(head, nullptr, std::memory_order_acq_rel, std::memory_order_acquire)) break;
    }
    message* oldest = nullptr;
    bool signals = false;
    for (message* m = head; m;) {
      message* next = m->next;
      m->next = oldest;
      oldest = m;
      signals |= m->signal();
      m = next;
    }
    append(oldest, head);
    if (signals) consumer_.store(consumer_.load(std::memory_order_relaxed) | consumer_moved_signals, std::memory_order_relaxed);
    return true;
  }

  void append(message* first, message* last) noexcept {
    (cache_ ? cache_tail_->next : cache_) = first;
    cache_tail_ = last;
  }

  /// One envelope in the packed counters: 1 in the count, its bytes in the byte count; nothing for
  /// a bookkeeping signal (message_type::tally).
  static std::uint64_t packed(const message* m) noexcept { return m->type->tally; }
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
  std::atomic<std::uint8_t> consumer_{0};     // drop_oldest only: consumer_locked | consumer_moved_signals
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
