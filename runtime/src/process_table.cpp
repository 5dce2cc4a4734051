#include "process_table.hpp"

namespace agner::detail {

process_table::process_table(std::uint32_t limit)
    : limit_(limit),
      chunks_(new std::atomic<process*>[(limit + chunk_size - 1) / chunk_size]),
      kinds_(new std::atomic<std::atomic<const std::type_info*>*>[(limit + chunk_size - 1) / chunk_size]) {
  for (std::uint32_t i = 0; i < (limit + chunk_size - 1) / chunk_size; ++i) {
    chunks_[i] = nullptr;
    kinds_[i] = nullptr;
  }
}

process_table::~process_table() {
  for (std::uint32_t i = 0; i < (limit_ + chunk_size - 1) / chunk_size; ++i) {
    delete[] chunks_[i].load(std::memory_order_relaxed);
    delete[] kinds_[i].load(std::memory_order_relaxed);
  }
}

process* process_table::acquire() {
  std::lock_guard lock(mutex_);
  std::uint32_t index;
  if (!free_.empty()) {
    index = free_.back();
    free_.pop_back();
  } else {
    index = high_water_.load(std::memory_order_relaxed);
    if (index >= limit_) return nullptr;
    auto& chunk = chunks_[index >> chunk_bits];
    if (!chunk.load(std::memory_order_relaxed)) {
      auto* fresh = new process[chunk_size];
      for (std::uint32_t i = 0; i < chunk_size; ++i) fresh[i].index = index + i;
      kinds_[index >> chunk_bits].store(new std::atomic<const std::type_info*>[chunk_size](), std::memory_order_release);
      chunk.store(fresh, std::memory_order_release);
    }
    high_water_.store(index + 1, std::memory_order_release);
  }
  live_.store(live_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  return slot(index);
}

void process_table::release(process* p) {
  std::lock_guard lock(mutex_);
  free_.push_back(p->index);
  live_.store(live_.load(std::memory_order_relaxed) - 1, std::memory_order_release);
}

}  // namespace agner::detail
