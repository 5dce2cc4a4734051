#pragma once
/// Numbers as etop shows them: short enough for a column, exact enough to compare.
#include <cstdint>
#include <string>
#include <vector>

namespace agner::etop {

/// 999 -> "999", 12345 -> "12.3K", 1234567 -> "1.23M", 9876543210 -> "9.88G" (at most 5 characters).
std::string count(std::uint64_t n);
/// Bytes in binary units: 512 -> "512B", 1536 -> "1.5K", 5242880 -> "5.0M", 3 << 30 -> "3.0G".
std::string bytes(std::uint64_t n);
/// 75 -> "75ms", 4200 -> "4.2s", 125000 -> "2m05s", 7500000 -> "2h05m".
std::string millis(std::uint64_t ms);
/// Uptime: 3725 s -> "1h02m05s", 90061 s -> "1d01h01m".
std::string uptime(std::uint64_t seconds);
/// A wall-clock instant (ms since the epoch) in local time: "14:03:07" when it falls on the same
/// local day as `now_ms`, else "2026-11-29 14:03:07". Reads the time zone (localtime_r); thread-safe.
std::string local_time(std::uint64_t at_ms, std::uint64_t now_ms);
/// A rate per second: 0.5 -> "0.5", 1234.5 -> "1235", 12345678 -> "12.3M".
std::string rate(double per_second);
/// printable(`text`) cut or padded to exactly `width` display columns (see text.hpp); a cut ends in
/// '~' and never splits a character.
std::string fit(const std::string& text, int width, bool right_align = false);
/// A C++ type name as etop shows it: "agner::node::(anonymous namespace)::slow_consumer" ->
/// "slow_consumer"; template arguments become "<…>".
std::string short_type(std::string name);
/// A bar of `width` cells filled to `fraction` (0..1): "|||||     ".
std::string bar(double fraction, int width);
/// A sparkline of `values` (oldest first) in `width` cells, scaled to the largest; block characters
/// when `unicode`, else " .:-=+*#".
std::string sparkline(const std::vector<double>& values, int width, bool unicode);

}  // namespace agner::etop
