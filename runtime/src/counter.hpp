#pragma once
#include <atomic>
#include <cstdint>

namespace agner::detail {

/// A counter with one writing thread (a scheduler, or whoever owns the process at the moment) and any
/// number of readers. Adding is a plain load and store, never a locked instruction; readers see a
/// value that was true at some recent moment.
class single_writer_counter {
 public:
  void add(std::uint64_t n = 1) noexcept {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void set(std::uint64_t v) noexcept { value_.store(v, std::memory_order_relaxed); }
  std::uint64_t get() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

}  // namespace agner::detail
