#pragma once
// What the attach server writes to the node's log about its peers: every peer-supplied string
// escaped (a line feed cannot forge a line), and connection errors rate-limited per window with
// the suppressed lines counted. Used on the server's thread only.
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace agner::introspect {

/// `text` cut to `max_bytes` of input (then "..."), shown as agner::visible_text shows it (control
/// bytes, C1, bidi controls and malformed UTF-8 escaped; other UTF-8 kept), with backslash and
/// double quote written \\ and \": safe inside one log line. Cost: one pass.
std::string log_escape(std::string_view text, std::size_t max_bytes = 128);

/// Lets through at most `per_window` lines in each `window`; counts the rest, and says how many were
/// suppressed with the first line of a later window (or `flush()`). Not thread-safe.
class log_limiter {
 public:
  log_limiter(std::size_t per_window, std::chrono::steady_clock::duration window)
      : per_window_(per_window), window_(window) {}
  /// Writes `line` through `sink` unless this window is full; returns whether it was written.
  bool write(const std::function<void(const std::string&)>& sink, const std::string& line,
             std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());
  /// Writes the "suppressed" line now if any line was suppressed.
  void flush(const std::function<void(const std::string&)>& sink);
  std::uint64_t suppressed_total() const noexcept { return suppressed_total_; }

 private:
  std::size_t per_window_;
  std::chrono::steady_clock::duration window_;
  std::chrono::steady_clock::time_point window_start_{};
  std::size_t written_ = 0;
  std::uint64_t suppressed_ = 0, suppressed_total_ = 0;
};

}  // namespace agner::introspect
