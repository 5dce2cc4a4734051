#include "agner/ctl/text.hpp"

#include <fmt/format.h>

namespace agner::ctl {

namespace {

bool continuation(std::string_view s, std::size_t i, unsigned char lo = 0x80, unsigned char hi = 0xbf) {
  if (i >= s.size()) return false;
  const auto c = static_cast<unsigned char>(s[i]);
  return c >= lo && c <= hi;
}

/// Length of the valid UTF-8 sequence starting at s[i] (a lead byte >= 0x80), 0 when invalid
/// (stray continuation, overlong form, surrogate, past U+10FFFF, truncated).
std::size_t sequence_length(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c >= 0xc2 && c <= 0xdf) return continuation(s, i + 1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    const unsigned char lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
    return continuation(s, i + 1, lo, hi) && continuation(s, i + 2) ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    const unsigned char lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
    return continuation(s, i + 1, lo, hi) && continuation(s, i + 2) && continuation(s, i + 3) ? 4 : 0;
  }
  return 0;
}

bool is_c1(std::string_view s, std::size_t i) {
  return static_cast<unsigned char>(s[i]) == 0xc2 && static_cast<unsigned char>(s[i + 1]) < 0xa0;
}

}  // namespace

std::string visible(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) {
      out += c == '\n' ? "\\n" : c == '\t' ? "\\t" : c == '\r' ? "\\r" : fmt::format("\\x{:02x}", c);
      ++i;
    } else if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
    } else if (const std::size_t n = sequence_length(s, i); n == 0) {
      out += fmt::format("\\x{:02x}", c);
      ++i;
    } else if (n == 2 && is_c1(s, i)) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned char>(s[i + 1]));
      i += 2;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

std::string visible_cut(std::string_view s, std::size_t width) {
  std::string v = visible(s);
  if (v.size() <= width || width == 0) return v;
  std::size_t end = width - 1;  // room for the mark
  while (end > 0 && (static_cast<unsigned char>(v[end]) & 0xc0) == 0x80) --end;
  v.resize(end);
  return v + "~";
}

std::string json_line(const nlohmann::json& j) {
  const std::string dumped = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string out;
  out.reserve(dumped.size());
  for (std::size_t i = 0; i < dumped.size(); ++i) {
    const auto c = static_cast<unsigned char>(dumped[i]);
    if (c == 0x7f) {
      out += "\\u007f";
    } else if (c == 0xc2 && i + 1 < dumped.size() && is_c1(dumped, i)) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned char>(dumped[++i]));
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace agner::ctl
