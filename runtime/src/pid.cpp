#include "agner/runtime/pid.hpp"

#include <charconv>

namespace agner {

std::string to_string(pid p) {
  if (!p) return "<none>";
  return fmt::format("<0.{}.{}>", p.index, p.serial);
}

std::optional<pid> parse_pid(std::string_view text) {
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
