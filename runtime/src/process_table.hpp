#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <typeinfo>
#include <vector>

#include "process.hpp"

namespace agner::detail {

/// Slots for processes, allocated in chunks on demand and never freed before the table itself, so
/// `slot()` needs no lock and a stale pid never points at freed memory.
class process_table {
 public:
  static constexpr unsigned chunk_bits = 12;
  static constexpr std::uint32_t chunk_size = 1u << chunk_bits;
  static constexpr std::uint32_t max_limit = 1u << 28;

  explicit process_table(std::uint32_t limit);
  ~process_table();
  process_table(const process_table&) = delete;
  process_table& operator=(const process_table&) = delete;

  /// A free slot for a new process, or nullptr when `limit` processes are alive. Thread-safe.
  process* acquire();
  /// Returns a dead process's slot. Thread-safe.
  void release(process* p);

  /// The slot at `index`, or nullptr if it was never handed out. Thread-safe, lock-free.
  process* slot(std::uint32_t index) const noexcept {
    if (index >= limit_) return nullptr;
    process* chunk = chunks_[index >> chunk_bits].load(std::memory_order_acquire);
    return chunk ? chunk + (index & (chunk_size - 1)) : nullptr;
  }

  /// The behaviour type of the process in slot `index` (set at spawn; static data, never freed),
  /// or nullptr. Thread-safe: check the slot's serial before and after to trust it.
  const std::type_info* kind(std::uint32_t index) const noexcept {
    auto* k = kinds_[index >> chunk_bits].load(std::memory_order_acquire);
    return k ? k[index & (chunk_size - 1)].load(std::memory_order_relaxed) : nullptr;
  }
  void set_kind(std::uint32_t index, const std::type_info* t) noexcept {
    kinds_[index >> chunk_bits].load(std::memory_order_relaxed)[index & (chunk_size - 1)].store(t, std::memory_order_relaxed);
  }

  std::uint32_t live() const noexcept { return live_.load(std::memory_order_acquire); }
  std::uint32_t limit() const noexcept { return limit_; }
  /// Slots ever handed out: every live process has an index below this. Thread-safe.
  std::uint32_t high_water() const noexcept { return high_water_.load(std::memory_order_acquire); }

 private:
  std::uint32_t limit_;
  std::unique_ptr<std::atomic<process*>[]> chunks_;
  std::unique_ptr<std::atomic<std::atomic<const std::type_info*>*>[]> kinds_;  // parallel to chunks_
  std::mutex mutex_;
  std::vector<std::uint32_t> free_;  // released indices, reused most recent first
  std::atomic<std::uint32_t> high_water_{0};
  std::atomic<std::uint32_t> live_{0};
};

}  // namespace agner::detail
