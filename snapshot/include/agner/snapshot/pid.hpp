#pragma once
/// Process identifiers: `{index, serial}`, shown as `<0.INDEX.SERIAL>` like Erlang's local pids.
/// Part of agner::snapshot (header-only, no runtime): the runtime, the wire codec and etop share it.
#include <charconv>
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

/// `<0.12.3>`; `<none>` for a default pid. Thread-safe; one small allocation.
inline std::string to_string(pid p) {
  if (!p) return "<none>";
  return fmt::format("<0.{}.{}>", p.index, p.serial);
}

/// Parses `<0.INDEX.SERIAL>` (the form `to_string` prints); nullopt for anything else (including
/// an index equal to pid::no_index). Thread-safe; O(length), no allocation.
inline std::optional<pid> parse_pid(std::string_view text) {
  if (!text.starts_with("<0.") || !text.ends_with('>')) return std::nullopt;
  const char* first = text.data() + 3;
  const char* last = text.data() + text.size() - 1;
  pid p;
  auto [dot, ec1] = std::from_chars(first, last, p.index);
  if (ec1 != std::errc{} || dot == last || *dot != '.') return std::nullopt;
  auto [end, ec2] = std::from_chars(dot + 1, last, p.serial);
  if (ec2 != std::errc{} || end != last || dot + 1 == end) return std::nullopt;
  if (p.index == pid::no_index) return std::nullopt;
  return p;
}

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
