#pragma once
#include <ctime>
#include <cstdint>

namespace agner::detail {

/// Milliseconds on CLOCK_MONOTONIC_COARSE (a few ms resolution; a vDSO read, no system call), never
/// 0 so that 0 can mean "none". Stamps messages for oldest-message age; wraps after 49 days, so
/// ages are computed by unsigned subtraction.
inline std::uint32_t coarse_ms() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<std::uint32_t>(ts.tv_sec * 1000 + ts.tv_nsec / 1'000'000) | 1u;
}

/// Age of something stamped `ms`, or 0 for no stamp.
inline std::uint32_t age_ms(std::uint32_t ms, std::uint32_t now) noexcept {
  const auto d = static_cast<std::int32_t>(now - ms);  // a stamp from a moment ago may be ahead
  return ms && d > 0 ? static_cast<std::uint32_t>(d) : 0;
}

}  // namespace agner::detail
