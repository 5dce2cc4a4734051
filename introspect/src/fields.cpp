#include "fields.hpp"

#include <fmt/format.h>

namespace agner::introspect::fields {

std::int64_t integer(const nlohmann::json& req, const char* name, std::int64_t lo, std::int64_t hi,
                     std::int64_t fallback) {
  auto it = req.find(name);
  if (it == req.end()) return fallback;
  const auto out_of_range = [&] {
    return request_error{codes::bad_request, fmt::format("{} must be an integer between {} and {}", name, lo, hi)};
  };
  if (it->is_number_unsigned()) {
    const auto v = it->get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(hi) || static_cast<std::int64_t>(v) < lo) throw out_of_range();
    return static_cast<std::int64_t>(v);
  }
  if (!it->is_number_integer()) throw out_of_range();
  const auto v = it->get<std::int64_t>();
  if (v < lo || v > hi) throw out_of_range();
  return v;
}

std::string text(const nlohmann::json& req, const char* name, std::size_t min_chars, std::size_t max_chars,
                 const std::string& fallback) {
  auto it = req.find(name);
  if (it == req.end()) return fallback;
  if (!it->is_string() || it->get_ref<const std::string&>().size() < min_chars ||
      it->get_ref<const std::string&>().size() > max_chars) {
    throw request_error{codes::bad_request,
                        min_chars == 0 ? fmt::format("{} must be a string of at most {} characters", name, max_chars)
                                       : fmt::format("{} must be a string of {} to {} characters", name, min_chars,
                                                     max_chars)};
  }
  return it->get<std::string>();
}

std::string one_line(const nlohmann::json& req, const char* name, std::size_t min_chars, std::size_t max_chars,
                     const std::string& fallback) {
  std::string value = text(req, name, min_chars, max_chars, fallback);
  for (std::size_t i = 0; i < value.size(); ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    const bool c1 = c == 0xc2 && i + 1 < value.size() && (static_cast<unsigned char>(value[i + 1]) & 0xe0) == 0x80;
    if (c < 0x20 || c == 0x7f || c1)  // C0, DEL, and C1 (U+0080-U+009F, which includes CSI)
      throw request_error{codes::bad_request, fmt::format("{} must not hold control characters (a line feed, an escape, ...)", name)};
  }
  return value;
}

}  // namespace agner::introspect::fields
