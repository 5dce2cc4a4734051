#pragma once
#include <cstddef>

namespace agner::bench {
/// Resident set size of this process, from /proc/self/statm.
std::size_t resident_bytes();
/// Bytes the allocator has handed out and not had back (glibc mallinfo2).
std::size_t allocated_bytes();
}  // namespace agner::bench
