#include "agner/runtime/binary.hpp"

#include <cstdlib>
#include <cstring>
#include <new>

namespace agner {
namespace {
std::atomic<std::uint64_t> live_bytes{0};
}

struct binary::block {
  std::atomic<std::uint32_t> refs;
  std::size_t size;
  char* data() noexcept { return reinterpret_cast<char*>(this + 1); }
};

binary::binary(std::string_view bytes) {
  if (bytes.empty()) return;
  void* mem = std::malloc(sizeof(block) + bytes.size());
  if (!mem) throw std::bad_alloc();
  block_ = new (mem) block{{1}, bytes.size()};
  std::memcpy(block_->data(), bytes.data(), bytes.size());
  live_bytes.fetch_add(bytes.size(), std::memory_order_relaxed);
}

binary::binary(const binary& other) noexcept : block_(other.block_) {
  if (block_) block_->refs.fetch_add(1, std::memory_order_relaxed);
}

binary::~binary() {
  if (block_ && block_->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    live_bytes.fetch_sub(block_->size, std::memory_order_relaxed);
    block_->~block();
    std::free(block_);
  }
}

std::string_view binary::view() const noexcept {
  return block_ ? std::string_view(block_->data(), block_->size) : std::string_view();
}

std::uint32_t binary::use_count() const noexcept {
  return block_ ? block_->refs.load(std::memory_order_relaxed) : 0;
}

std::uint64_t binary::shared_bytes() noexcept { return live_bytes.load(std::memory_order_relaxed); }

}  // namespace agner
