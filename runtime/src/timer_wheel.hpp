#pragma once
/// The timer wheel and the node it holds. The wheel is hierarchical: 1,024 slots of one millisecond
/// for the current 1,024 ms block, 1,024 slots of one block for the current ~17.5 minutes, and one
/// overflow list beyond. Adding is O(1); advancing visits each elapsed slot once and each timer at
/// most three times (overflow, block, millisecond) before it is due. Intrusive: it allocates nothing.
/// Not thread-safe: one owner (the timer service, under its work lock).
#include <array>
#include <atomic>
#include <bit>
#include <cstdint>
#include <optional>

#include "agner/runtime/message.hpp"
#include "agner/snapshot/pid.hpp"

namespace agner::detail {

/// One timer. Its `state` is `generation << 2 | status`, the only field other threads touch: a
/// cancel moves it from pending to cancelled with one compare-and-swap, and whoever frees the node
/// bumps the generation, so a stale timer id never matches a reused node.
struct timer_node {
  enum status : std::uint64_t { free = 0, pending = 1, cancelling = 2, cancelled = 3 };
  std::atomic<std::uint64_t> state{0};
  timer_node* next = nullptr;  ///< in an inbox, the staging list, a wheel slot or a free list
  std::int64_t deadline_ms = 0;
  std::uint64_t seq = 0;  ///< creation order among the timers of one lane
  pid to;
  message* msg = nullptr;  ///< owned while pending
  std::uint32_t index = 0;  ///< in the service's slab: the low half of a timer id
  std::uint32_t home = 0;   ///< the lane whose free list it returns to
};

class timer_wheel {
 public:
  static constexpr int bits = 10;
  static constexpr std::int64_t slots = std::int64_t{1} << bits;  // 1,024

  explicit timer_wheel(std::int64_t now_ms) : next_(now_ms + 1) {}
  timer_wheel(const timer_wheel&) = delete;
  timer_wheel& operator=(const timer_wheel&) = delete;

  /// Files `n` by its deadline; a deadline already passed is due at the next advance.
  void add(timer_node* n) {
    if (n->deadline_ms < next_) n->deadline_ms = next_;
    ++size_;
    file(n);
  }

  /// Goes through every millisecond up to `now_ms`. Each timer due by then goes to `due(node)`,
  /// slot by slot; a timer met on the way down the levels for which `keep(node)` is false goes to
  /// `drop(node)` (a cancelled one is freed there, long before its deadline).
  template <class Due, class Keep, class Drop>
  void advance(std::int64_t now_ms, Due&& due, Keep&& keep, Drop&& drop) {
    while (next_ <= now_ms) {
      if (size_ == 0) {  // nothing to meet on the way
        next_ = now_ms + 1;
        break;
      }
      const std::int64_t m = next_;
      if ((m & (slots - 1)) == 0) {  // a new block: bring its timers down to the millisecond level
        if ((m & (slots * slots - 1)) == 0) cascade(take(overflow_), keep, drop);
        const auto b = static_cast<std::size_t>((m >> bits) & (slots - 1));
        cascade(take(blocks_, block_bits_, b), keep, drop);
      }
      const auto s = static_cast<std::size_t>(m & (slots - 1));
      for (timer_node* n = take(ms_, ms_bits_, s); n;) {
        timer_node* following = n->next;
        --size_;
        due(n);
        n = following;
      }
      // Jump to the next occupied millisecond of this block, else to the next occupied block of
      // this ~17.5 minutes, else to the next ~17.5 minutes (where the overflow comes down).
      const std::int64_t block_end = (m | (slots - 1)) + 1;
      const auto found = first_set(ms_bits_, static_cast<std::size_t>((m + 1) & (slots - 1)));
      if (m + 1 != block_end && found) {
        next_ = ((m >> bits) << bits) + static_cast<std::int64_t>(*found);
      } else if ((block_end & (slots * slots - 1)) == 0) {
        next_ = block_end;
      } else {
        const auto block = first_set(block_bits_, static_cast<std::size_t>((block_end >> bits) & (slots - 1)));
        next_ = block ? ((block_end >> (2 * bits)) << (2 * bits)) + (static_cast<std::int64_t>(*block) << bits)
                      : ((block_end >> (2 * bits)) + 1) << (2 * bits);
      }
      if (next_ > now_ms + 1) next_ = now_ms + 1;
    }
  }

  /// A time at or before the earliest deadline, or nullopt when the wheel is empty.
  std::optional<std::int64_t> next_wake() const {
    if (size_ == 0) return std::nullopt;
    if (auto s = first_set(ms_bits_, static_cast<std::size_t>(next_ & (slots - 1))))
      return ((next_ >> bits) << bits) + static_cast<std::int64_t>(*s);
    const std::int64_t block = next_ >> bits;
    if (auto b = first_set(block_bits_, static_cast<std::size_t>((block + 1) & (slots - 1))))
      return ((block >> bits) << (2 * bits)) + (static_cast<std::int64_t>(*b) << bits);
    return ((next_ >> (2 * bits)) + 1) << (2 * bits);  // the overflow comes down then
  }

  /// Timers filed, due or not (cancelled ones included until they are met and dropped).
  std::size_t size() const noexcept { return size_; }

  /// Empties the wheel, handing every node to `each`.
  template <class F>
  void clear(F&& each) {
    auto all = [&](timer_node* n) {
      while (n) {
        timer_node* following = n->next;
        each(n);
        n = following;
      }
    };
    for (std::size_t i = 0; i < ms_.size(); ++i) all(take(ms_, ms_bits_, i));
    for (std::size_t i = 0; i < blocks_.size(); ++i) all(take(blocks_, block_bits_, i));
    all(take(overflow_));
    size_ = 0;
  }

 private:
  using bitmap = std::array<std::uint64_t, slots / 64>;

  void file(timer_node* n) {
    const std::int64_t d = n->deadline_ms;
    if ((d >> bits) == (next_ >> bits)) {
      push(ms_, ms_bits_, static_cast<std::size_t>(d & (slots - 1)), n);
    } else if ((d >> (2 * bits)) == (next_ >> (2 * bits))) {
      push(blocks_, block_bits_, static_cast<std::size_t>((d >> bits) & (slots - 1)), n);
    } else {
      n->next = overflow_;
      overflow_ = n;
    }
  }
  template <class Keep, class Drop>
  void cascade(timer_node* n, Keep& keep, Drop& drop) {
    while (n) {
      timer_node* following = n->next;
      if (keep(n)) {
        file(n);
      } else {
        --size_;
        drop(n);
      }
      n = following;
    }
  }
  static void push(std::array<timer_node*, slots>& level, bitmap& bits_set, std::size_t i, timer_node* n) {
    n->next = level[i];
    level[i] = n;
    bits_set[i / 64] |= std::uint64_t{1} << (i % 64);
  }
  static timer_node* take(std::array<timer_node*, slots>& level, bitmap& bits_set, std::size_t i) {
    bits_set[i / 64] &= ~(std::uint64_t{1} << (i % 64));
    timer_node* n = level[i];
    level[i] = nullptr;
    return n;
  }
  static timer_node* take(timer_node*& list) {
    timer_node* n = list;
    list = nullptr;
    return n;
  }
  /// The first set bit at or after `from`, if any.
  static std::optional<std::size_t> first_set(const bitmap& b, std::size_t from) {
    for (std::size_t w = from / 64; w < b.size(); ++w) {
      std::uint64_t word = b[w];
      if (w == from / 64) word &= ~std::uint64_t{0} << (from % 64);
      if (word) return w * 64 + static_cast<std::size_t>(std::countr_zero(word));
    }
    return std::nullopt;
  }

  std::int64_t next_;  // the first millisecond not yet gone through
  std::size_t size_ = 0;
  std::array<timer_node*, slots> ms_{};
  std::array<timer_node*, slots> blocks_{};
  bitmap ms_bits_{}, block_bits_{};
  timer_node* overflow_ = nullptr;
};

}  // namespace agner::detail
