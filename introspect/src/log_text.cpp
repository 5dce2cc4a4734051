#include "log_text.hpp"

#include <fmt/format.h>

namespace agner::introspect {

std::string log_escape(std::string_view text, std::size_t max_bytes) {
  std::string out;
  out.reserve(std::min(text.size(), max_bytes) + 8);
  for (std::size_t i = 0; i < text.size() && i < max_bytes; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c >= 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  if (text.size() > max_bytes) out += "...";
  return out;
}

bool log_limiter::write(const std::function<void(const std::string&)>& sink, const std::string& line,
                        std::chrono::steady_clock::time_point now) {
  if (now - window_start_ >= window_) {
    flush(sink);
    window_start_ = now;
    written_ = 0;
  }
  if (written_ >= per_window_) {
    ++suppressed_;
    ++suppressed_total_;
    return false;
  }
  ++written_;
  sink(line);
  return true;
}

void log_limiter::flush(const std::function<void(const std::string&)>& sink) {
  if (suppressed_ == 0) return;
  sink(fmt::format("{} similar connection error lines suppressed (at most {} are logged per {} s)", suppressed_,
                   per_window_, std::chrono::duration_cast<std::chrono::seconds>(window_).count()));
  suppressed_ = 0;
}

}  // namespace agner::introspect
