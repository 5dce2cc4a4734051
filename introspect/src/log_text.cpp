#include "log_text.hpp"

#include <fmt/format.h>

#include "agner/snapshot/visible_text.hpp"

namespace agner::introspect {

std::string log_escape(std::string_view text, std::size_t max_bytes) {
  // visible_text's rule (one for the product), with backslash and quote escaped too, so a value
  // cannot pass for an escape or end a quoted field.
  const std::string_view cut = text.substr(0, max_bytes);
  std::string out;
  out.reserve(cut.size() + 8);
  std::size_t start = 0;
  for (std::size_t i = 0; i <= cut.size(); ++i) {
    if (i < cut.size() && cut[i] != '\\' && cut[i] != '"') continue;
    out += visible_text(cut.substr(start, i - start));
    if (i < cut.size()) {
      out += '\\';
      out += cut[i];
    }
    start = i + 1;
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
