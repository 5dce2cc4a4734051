#pragma once
/// Process identifiers: `{index, serial}`, shown as `<0.INDEX.SERIAL>` like Erlang's local pids.
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace agner {

/// A process identifier. `index` names a slot in the process table; `serial` counts how often that
/// slot has been reused, so a pid of a dead process never designates the process that took its slot.
/// A default-constructed pid designates no process. Plain value; thread-safe to copy anywhere.
struct pid {
  static constexpr std::uint32_t no_index = 0xffffffffu;
  std::uint32_t index = no_index;
  std::uint32_t serial = 0;

  explicit constexpr operator bool() const { return index != no_index; }
  friend constexpr bool operator==(pid, pid) = default;
  friend constexpr auto operator<=>(pid, pid) = default;
};

/// `<0.12.3>`; `<none>` for a default pid.
std::string to_string(pid p);

/// Parses `<0.INDEX.SERIAL>` (the form `to_string` prints); nullopt for anything else.
std::optional<pid> parse_pid(std::string_view text);

}  // namespace agner

template <>
struct fmt::formatter<agner::pid> : fmt::formatter<std::string_view> {
  auto format(agner::pid p, format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(agner::to_string(p), ctx);
  }
};

template <>
struct std::hash<agner::pid> {
  std::size_t operator()(agner::pid p) const noexcept {
    return std::hash<std::uint64_t>{}((std::uint64_t{p.serial} << 32) | p.index);
  }
};
