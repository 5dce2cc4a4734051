#include "agner/etop/format.hpp"
#include "agner/etop/text.hpp"

#include <algorithm>
#include <cmath>
#include <ctime>

#include <fmt/format.h>

#include "agner/snapshot/groups.hpp"

namespace agner::etop {
namespace {

std::string scaled(double v, const char* const* units, double step) {
  int u = 0;
  while (v >= step && units[u + 1]) {
    v /= step;
    ++u;
  }
  if (u == 0) return fmt::format("{:.0f}{}", v, units[0]);
  if (v < 10) return fmt::format("{:.2f}{}", v, units[u]);
  if (v < 100) return fmt::format("{:.1f}{}", v, units[u]);
  return fmt::format("{:.0f}{}", v, units[u]);
}

}  // namespace

std::string count(std::uint64_t n) {
  static const char* const units[] = {"", "K", "M", "G", "T", "P", nullptr};
  if (n < 10'000) return std::to_string(n);
  return scaled(static_cast<double>(n), units, 1000);
}

std::string bytes(std::uint64_t n) {
  static const char* const units[] = {"B", "K", "M", "G", "T", nullptr};
  if (n < 1024) return fmt::format("{}B", n);
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && units[u + 1]) {
    v /= 1024;
    ++u;
  }
  return v < 100 ? fmt::format("{:.1f}{}", v, units[u]) : fmt::format("{:.0f}{}", v, units[u]);
}

std::string millis(std::uint64_t ms) {
  if (ms < 1000) return fmt::format("{}ms", ms);
  if (ms < 60'000) return fmt::format("{:.1f}s", static_cast<double>(ms) / 1000);
  const std::uint64_t s = ms / 1000;
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
}

std::string uptime(std::uint64_t s) {
  if (s < 86400) return fmt::format("{}h{:02}m{:02}s", s / 3600, (s % 3600) / 60, s % 60);
  return fmt::format("{}d{:02}h{:02}m", s / 86400, (s % 86400) / 3600, (s % 3600) / 60);
}

std::string rate(double v) {
  if (v < 0) v = 0;
  if (v < 10) return fmt::format("{:.1f}", v);
  if (v < 10'000) return fmt::format("{:.0f}", v);
  return count(static_cast<std::uint64_t>(std::llround(v)));
}

std::string fit(const std::string& text, int width, bool right_align) {
  if (width <= 0) return {};
  const std::string safe = printable(text);
  const int len = display_width(safe);
  if (len <= width) {
    std::string pad(static_cast<std::size_t>(width - len), ' ');
    return right_align ? pad + safe : safe + pad;
  }
  // Cut between characters, leaving a column for the '~' (and padding a wide character's half).
  int used = 0;
  std::string out = take_columns(safe, width - 1, used);
  return out + std::string(static_cast<std::size_t>(width - 1 - used), ' ') + "~";
}

std::string short_type(std::string s) {
  return introspect::short_type(std::move(s));  // the node groups by the same string (groups.hpp)
}

std::string local_time(std::uint64_t at_ms, std::uint64_t now_ms) {
  const auto local = [](std::uint64_t ms) {
    const auto t = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    localtime_r(&t, &tm);
    return tm;
  };
  const std::tm at = local(at_ms), now = local(now_ms);
  const std::string clock = fmt::format("{:02}:{:02}:{:02}", at.tm_hour, at.tm_min, at.tm_sec);
  if (at.tm_year == now.tm_year && at.tm_yday == now.tm_yday) return clock;
  return fmt::format("{:04}-{:02}-{:02} {}", at.tm_year + 1900, at.tm_mon + 1, at.tm_mday, clock);
}

std::string bar(double fraction, int width) {
  if (width <= 0) return {};
  fraction = std::clamp(fraction, 0.0, 1.0);
  const int filled = static_cast<int>(std::lround(fraction * width));
  return std::string(static_cast<std::size_t>(filled), '|') + std::string(static_cast<std::size_t>(width - filled), ' ');
}

std::string sparkline(const std::vector<double>& values, int width, bool unicode) {
  static const char* const blocks[] = {" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
  static const char ascii[] = " .:-=+*#";
  if (width <= 0) return {};
  const std::size_t w = static_cast<std::size_t>(width);
  const std::size_t start = values.size() > w ? values.size() - w : 0;
  double top = 0;
  for (std::size_t i = start; i < values.size(); ++i) top = std::max(top, values[i]);
  std::string out(w - (values.size() - start), ' ');
  for (std::size_t i = start; i < values.size(); ++i) {
    const double f = top > 0 ? values[i] / top : 0;
    if (unicode) {
      out += blocks[values[i] > 0 ? std::max(1, static_cast<int>(std::lround(f * 8))) : 0];
    } else {
      out += ascii[values[i] > 0 ? std::max(1, static_cast<int>(std::lround(f * 7))) : 0];
    }
  }
  return out;
}

}  // namespace agner::etop
