#pragma once
/// Run queues. Each scheduler owns a bounded FIFO ring that only it pushes to and that it and idle
/// schedulers (thieves) take from; runnable processes made by threads outside the schedulers, and the
/// overflow of a full ring, go to the one global queue.
#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

#include "process.hpp"

namespace agner::detail {

class local_run_queue {
 public:
  static constexpr std::uint32_t capacity = 256;

  /// Owner only. False when full: the caller then moves work to the global queue.
  bool push(process* p) noexcept {
    std::uint32_t t = tail_.load(std::memory_order_relaxed);
    std::uint32_t h = head_.load(std::memory_order_acquire);
    if (t - h >= capacity) return false;
    slots_[t % capacity].store(p, std::memory_order_relaxed);
    tail_.store(t + 1, std::memory_order_release);
    return true;
  }

  /// Owner or thief: the oldest process, or nullptr.
  process* pop() noexcept {
    std::uint32_t h = head_.load(std::memory_order_acquire);
    for (;;) {
      std::uint32_t t = tail_.load(std::memory_order_acquire);
      if (h == t) return nullptr;
      process* p = slots_[h % capacity].load(std::memory_order_relaxed);
      if (head_.compare_exchange_weak(h, h + 1, std::memory_order_acq_rel, std::memory_order_acquire))
        return p;
    }
  }

  /// Owner only, when its own queue is empty: moves about half of `victim`'s processes here and
  /// returns one of them to run (nullptr if there was nothing to take).
  process* steal_half(local_run_queue& victim) noexcept {
    std::uint32_t mine = tail_.load(std::memory_order_relaxed);
    for (;;) {
      std::uint32_t h = victim.head_.load(std::memory_order_acquire);
      std::uint32_t t = victim.tail_.load(std::memory_order_acquire);
      std::uint32_t n = t - h;
      n -= n / 2;
      if (n == 0) return nullptr;
      if (n > capacity / 2) continue;  // torn read of head and tail; look again
      for (std::uint32_t i = 0; i < n; ++i)
        slots_[(mine + i) % capacity].store(
            victim.slots_[(h + i) % capacity].load(std::memory_order_relaxed),
            std::memory_order_relaxed);
      if (victim.head_.compare_exchange_strong(h, h + n, std::memory_order_acq_rel)) {
        process* run = slots_[(mine + n - 1) % capacity].load(std::memory_order_relaxed);
        if (n > 1) tail_.store(mine + n - 1, std::memory_order_release);
        return run;
      }
    }
  }

  /// Owner only, when full: takes the older half out (for the global queue).
  void take_half(std::vector<process*>& out) noexcept {
    for (std::uint32_t i = 0; i < capacity / 2; ++i)
      if (process* p = pop()) out.push_back(p);
  }

  /// Any thread; approximate while the owner and thieves are busy.
  std::uint32_t size() const noexcept {
    std::uint32_t h = head_.load(std::memory_order_acquire);
    std::uint32_t t = tail_.load(std::memory_order_acquire);
    return t - h <= capacity ? t - h : 0;
  }
  bool empty() const noexcept { return size() == 0; }

 private:
  alignas(64) std::atomic<std::uint32_t> head_{0};  // taken by owner and thieves
  alignas(64) std::atomic<std::uint32_t> tail_{0};  // written by the owner only
  std::array<std::atomic<process*>, capacity> slots_{};
};

/// The global queue: a mutex-protected deque with a lock-free emptiness check.
class global_run_queue {
 public:
  void push(process* p) {
    std::lock_guard lock(mutex_);
    queue_.push_back(p);
    size_.store(queue_.size(), std::memory_order_release);
  }
  void push(const std::vector<process*>& batch) {
    std::lock_guard lock(mutex_);
    queue_.insert(queue_.end(), batch.begin(), batch.end());
    size_.store(queue_.size(), std::memory_order_release);
  }
  /// Takes up to `max` processes: returns the first, pushes the rest onto `local`.
  process* pop_into(local_run_queue& local, std::size_t max) {
    if (empty()) return nullptr;
    std::lock_guard lock(mutex_);
    if (queue_.empty()) return nullptr;
    process* first = queue_.front();
    queue_.pop_front();
    for (std::size_t i = 1; i < max && !queue_.empty() && local.push(queue_.front()); ++i)
      queue_.pop_front();
    size_.store(queue_.size(), std::memory_order_release);
    return first;
  }
  bool empty() const noexcept { return size() == 0; }
  std::size_t size() const noexcept { return size_.load(std::memory_order_acquire); }

 private:
  std::mutex mutex_;
  std::deque<process*> queue_;
  std::atomic<std::size_t> size_{0};
};

}  // namespace agner::detail
