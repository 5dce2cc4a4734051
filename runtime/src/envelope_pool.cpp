// Envelope allocation. Each thread keeps a free list per size class; when one grows past two batches
// it hands a batch of 64 to a global depot, and an empty one takes a batch back, so a producer on one
// core and a consumer on another meet at a mutex once per 64 messages instead of at malloc's arena
// lock on every message. The depot is bounded; blocks beyond it go back to malloc.
#include <array>
#include <cstddef>
#include <cstdlib>
#include <mutex>
#include <new>
#include <vector>

#include "agner/runtime/message.hpp"

namespace agner::detail {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool pooled = false;  // let ASan see every envelope's life
#else
constexpr bool pooled = true;
#endif

constexpr std::array<std::size_t, 8> class_sizes{32, 48, 64, 96, 128, 192, 256, 384};
constexpr std::size_t batch = 64;
constexpr std::size_t depot_max_batches = 1024;  // per class

struct block {
  block* next;
};

int class_of(std::size_t size) noexcept {
  for (std::size_t c = 0; c < class_sizes.size(); ++c)
    if (size <= class_sizes[c]) return static_cast<int>(c);
  return -1;
}

void free_list(block* b) noexcept {
  while (b) {
    block* next = b->next;
    std::free(b);
    b = next;
  }
}

struct depot {
  std::mutex mutex;
  std::array<std::vector<block*>, class_sizes.size()> batches;

  void put(int c, block* list) {
    {
      std::lock_guard lock(mutex);
      auto& v = batches[static_cast<std::size_t>(c)];
      if (v.size() < depot_max_batches) {
        v.push_back(list);
        return;
      }
    }
    free_list(list);
  }
  block* take(int c) {
    std::lock_guard lock(mutex);
    auto& v = batches[static_cast<std::size_t>(c)];
    if (v.empty()) return nullptr;
    block* b = v.back();
    v.pop_back();
    return b;
  }
};

depot& the_depot() {
  static depot* d = new depot;  // never destroyed: threads may free envelopes during exit
  return *d;
}

/// Plain data, so reaching it is one thread-pointer-relative load with no init guard.
struct thread_cache {
  std::array<block*, class_sizes.size()> head;
  std::array<std::size_t, class_sizes.size()> count;

  /// Detaches `batch` blocks from the front of class c's list.
  block* split_batch(std::size_t c) noexcept {
    block* first = head[c];
    block* last = first;
    for (std::size_t n = 1; n < batch; ++n) last = last->next;
    head[c] = last->next;
    last->next = nullptr;
    count[c] -= batch;
    return first;
  }
};

constinit thread_local thread_cache cache{};

/// Frees the thread's cached blocks when it exits; touched only on the slow paths.
struct cache_releaser {
  ~cache_releaser() {
    for (std::size_t c = 0; c < class_sizes.size(); ++c) {
      free_list(cache.head[c]);
      cache.head[c] = nullptr;
      cache.count[c] = 0;
    }
  }
  void arm() noexcept {}
};
thread_local cache_releaser releaser;

}  // namespace

void* allocate_envelope(std::size_t size) {
  int c = pooled ? class_of(size) : -1;
  if (c < 0) return ::operator new(size);
  auto i = static_cast<std::size_t>(c);
  block* b = cache.head[i];
  if (!b) {
    releaser.arm();
    b = the_depot().take(c);
    if (!b) {
      void* fresh = std::malloc(class_sizes[i]);
      if (!fresh) throw std::bad_alloc();
      return fresh;
    }
    cache.count[i] = batch;
  }
  cache.head[i] = b->next;
  --cache.count[i];
  return b;
}

void free_envelope(void* p, std::size_t size) noexcept {
  int c = pooled ? class_of(size) : -1;
  if (c < 0) {
    ::operator delete(p, size);
    return;
  }
  auto i = static_cast<std::size_t>(c);
  auto* b = static_cast<block*>(p);
  b->next = cache.head[i];
  cache.head[i] = b;
  if (++cache.count[i] == 1) releaser.arm();
  if (cache.count[i] >= 2 * batch) the_depot().put(c, cache.split_batch(i));
}

}  // namespace agner::detail
