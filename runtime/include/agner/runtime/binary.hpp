#pragma once
/// Large immutable payloads shared by reference count, as Erlang's refc binaries: sending a binary
/// copies a pointer, never the bytes, and no process can change them. Their bytes are counted once,
/// as shared bytes, not in any process's memory.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

namespace agner {

class binary {
 public:
  binary() noexcept = default;
  /// Copies `bytes` once into a shared block.
  explicit binary(std::string_view bytes);
  binary(const binary& other) noexcept;
  binary(binary&& other) noexcept : block_(other.block_) { other.block_ = nullptr; }
  binary& operator=(binary other) noexcept {
    std::swap(block_, other.block_);
    return *this;
  }
  ~binary();

  std::string_view view() const noexcept;
  std::size_t size() const noexcept { return view().size(); }
  /// Holders of these bytes (0 for an empty binary).
  std::uint32_t use_count() const noexcept;

  /// Bytes held by every binary alive in this OS process: memory of kind "binary".
  static std::uint64_t shared_bytes() noexcept;

 private:
  struct block;
  block* block_ = nullptr;
};

}  // namespace agner
