#pragma once
/// A process's heap: an arena its state lives in (through std::pmr containers), collected by the
/// runtime. Allocation bumps a pointer in a 32 KiB chunk; freeing only lowers the chunk's live
/// count. Collection gives the space back: a minor run releases the chunks with nothing live left,
/// a major run first has the behaviour move its live state into a fresh heap (compaction), then
/// releases the whole old one. See docs/runtime.md, "Heaps and garbage collection".
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <memory_resource>
#include <new>
#include <utility>

namespace agner {

/// Thrown by a heap allocation that would take the heap past the process's max_heap_bytes. The
/// process ends with reason "max_heap" even if a handler catches it.
class max_heap_error : public std::bad_alloc {
 public:
  const char* what() const noexcept override { return "the process heap passed max_heap_bytes"; }
};

namespace detail {
/// Where a heap reports its size: the owning process's published figure and the node's total.
struct heap_meters {
  std::atomic<std::uint64_t>* process_bytes = nullptr;
  std::atomic<std::int64_t>* node_bytes = nullptr;
};
}  // namespace detail

class heap final : public std::pmr::memory_resource {
 public:
  /// Chunk size and alignment. An allocation above a quarter of it gets a chunk of its own.
  static constexpr std::size_t chunk_bytes = 32 * 1024;

  /// `max_bytes` 0: unbounded.
  explicit heap(std::size_t max_bytes = 0, detail::heap_meters meters = {}) noexcept
      : max_(max_bytes), meters_(meters) {}
  ~heap() override;
  heap(const heap&) = delete;
  heap& operator=(const heap&) = delete;

  /// Bytes held from the system (whole chunks): what the process's memory figure counts.
  std::size_t size() const noexcept { return size_; }
  /// Bytes allocated and not yet freed.
  std::size_t live() const noexcept { return live_; }
  std::size_t max_bytes() const noexcept { return max_; }
  /// True once the heap has grown past its collection target (or its maximum was hit).
  bool wants_gc() const noexcept { return size_ > target_ || over_max_; }
  bool passed_max() const noexcept { return over_max_; }

  /// Moves `obj` into this heap: `obj` must be allocator-aware (a std::pmr container, or a type
  /// with an allocator-extended move constructor). A behaviour's gc hook calls it for each member
  /// that lives in the heap.
  template <class T>
  void move_in(T& obj) {
    T moved(std::move(obj), std::pmr::polymorphic_allocator<std::byte>(this));
    std::destroy_at(&obj);
    std::construct_at(&obj, std::move(moved));  // keeps this heap as the allocator
  }

  // --- for the runtime's collector -------------------------------------------------------------

  /// Releases every chunk with nothing live in it (`keep_current`: except the one being filled).
  /// Returns the bytes released.
  std::size_t sweep(bool keep_current) noexcept;
  /// After a collection: the next one is due when the heap passes twice what is left.
  void retarget() noexcept;

 private:
  struct chunk;
  void* do_allocate(std::size_t bytes, std::size_t align) override;
  void do_deallocate(void* p, std::size_t bytes, std::size_t align) override;
  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override { return this == &other; }
  chunk* grow(std::size_t bytes, std::size_t align);
  void account(std::int64_t delta) noexcept;

  static constexpr std::size_t min_target = 2 * chunk_bytes;
  chunk* chunks_ = nullptr;   // newest first; the first is the one being filled
  std::size_t size_ = 0;
  std::size_t live_ = 0;
  std::size_t target_ = min_target;
  std::size_t max_;
  bool over_max_ = false;
  detail::heap_meters meters_;
};

}  // namespace agner
