// The per-process heap: bump allocation in aligned chunks, each with a live-byte count so freeing
// finds its chunk by masking the address.
#include "agner/runtime/heap.hpp"

#include <algorithm>
#include <cstdlib>

namespace agner {

struct heap::chunk {
  chunk* next;
  std::size_t bytes;  // the whole block, header included
  std::size_t live;   // allocated from it and not yet freed
  char* top;
  char* end;
  char* first() noexcept { return reinterpret_cast<char*>(this + 1); }
};

namespace {
constexpr std::size_t max_align = 4096;  // keeps every allocation inside its block's first chunk_bytes

char* align_up(char* p, std::size_t align) noexcept {
  const auto v = reinterpret_cast<std::uintptr_t>(p);
  return reinterpret_cast<char*>((v + align - 1) & ~(std::uintptr_t{align} - 1));
}
}  // namespace

heap::~heap() {
  while (chunks_) {
    chunk* c = chunks_;
    chunks_ = c->next;
    account(-static_cast<std::int64_t>(c->bytes));
    std::free(c);
  }
}

void heap::account(std::int64_t delta) noexcept {
  if (meters_.process_bytes)  // written only by the owner; readers on other threads load it
    meters_.process_bytes->store(meters_.process_bytes->load(std::memory_order_relaxed) + delta,
                                 std::memory_order_relaxed);
  if (meters_.node_bytes) meters_.node_bytes->fetch_add(delta, std::memory_order_relaxed);
}

void* heap::do_allocate(std::size_t bytes, std::size_t align) {
  if (bytes == 0) bytes = 1;
  if (align > max_align) throw std::bad_alloc();
  chunk* c = chunks_;
  if (c && bytes <= chunk_bytes / 4) {
    char* p = align_up(c->top, align);
    if (p + bytes <= c->end) {
      c->top = p + bytes;
      c->live += bytes;
      live_ += bytes;
      return p;
    }
  }
  c = grow(bytes, align);
  char* p = align_up(c->top, align);
  c->top = p + bytes;
  c->live += bytes;
  live_ += bytes;
  // A block made for one big object takes nothing else: an object past its first chunk_bytes
  // could not find the block's header by masking its address.
  if (bytes > chunk_bytes / 4) c->end = c->top;
  return p;
}

heap::chunk* heap::grow(std::size_t bytes, std::size_t align) {
  const bool own = bytes > chunk_bytes / 4;
  const std::size_t need = (sizeof(chunk) + align + bytes + chunk_bytes - 1) / chunk_bytes * chunk_bytes;
  if (max_ && size_ + need > max_) {
    sweep(false);
    if (size_ + need > max_) {
      over_max_ = true;
      throw max_heap_error();
    }
  }
  void* mem = std::aligned_alloc(chunk_bytes, need);
  if (!mem) throw std::bad_alloc();
  auto* c = static_cast<chunk*>(mem);
  c->bytes = need;
  c->live = 0;
  c->top = c->first();
  c->end = static_cast<char*>(mem) + need;
  // A block for one big object goes behind the chunk being filled, which stays first.
  if (own && chunks_) {
    c->next = chunks_->next;
    chunks_->next = c;
  } else {
    c->next = chunks_;
    chunks_ = c;
  }
  size_ += need;
  account(static_cast<std::int64_t>(need));
  return c;
}

void heap::do_deallocate(void* p, std::size_t bytes, std::size_t) {
  if (bytes == 0) bytes = 1;
  auto* c = reinterpret_cast<chunk*>(reinterpret_cast<std::uintptr_t>(p) & ~(std::uintptr_t{chunk_bytes} - 1));
  c->live -= bytes;
  live_ -= bytes;
  if (c->live == 0 && c == chunks_) c->top = c->first();  // the chunk being filled starts over
}

std::size_t heap::sweep(bool keep_current) noexcept {
  std::size_t released = 0;
  for (chunk** link = &chunks_; *link;) {
    chunk* c = *link;
    if (c->live == 0 && !(keep_current && c == chunks_)) {
      *link = c->next;
      released += c->bytes;
      std::free(c);
    } else {
      link = &c->next;
    }
  }
  size_ -= released;
  account(-static_cast<std::int64_t>(released));
  return released;
}

void heap::retarget() noexcept { target_ = std::max(min_target, 2 * size_); }

}  // namespace agner
