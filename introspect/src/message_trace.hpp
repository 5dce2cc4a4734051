#pragma once
// One trace_start of an attach session (docs/protocol.md, "Message tracing"): a runtime trace sink
// that applies the budget (count), the rate limit and the preview cap, and hands each frame to the
// session's thread. The session owns it; the runtime holds it until stop_trace or the end event.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "agner/runtime/trace.hpp"
#include "server_state.hpp"

namespace agner::introspect {

struct trace_budget {
  std::uint64_t count = 0;       ///< stop after this many messages shown
  std::uint32_t rate = 0;        ///< at most this many shown per second; the rest counted
  std::size_t preview_bytes = 0; ///< each message's text is cut to this many bytes
};

class message_trace final : public trace_sink {
 public:
  /// `emit(frame, last)` runs on the server's thread for each frame, posted through `gate`; `last`
  /// is true for the frame that ends the trace (count reached, or the traced process ended).
  message_trace(int id, trace_budget budget, std::shared_ptr<post_gate> gate,
                std::function<void(nlohmann::json frame, bool last)> emit);

  /// Any thread (the runtime's senders), several at once; takes this trace's mutex, formats only
  /// what it shows.
  void on_trace(const trace_event& e) noexcept override;

  /// The final frame for an end decided on the server's thread (seconds, stopped): marks the trace
  /// finished so nothing more is shown, and returns the trace_end frame.
  nlohmann::json finish(const std::string& reason, const std::string& exit_reason = {});
  /// The suppressed count if it grew since the last call, else 0 (for the once-a-second frame).
  std::uint64_t suppressed_since_last_look();
  int id() const noexcept { return id_; }

 private:
  nlohmann::json end_frame(const std::string& reason, const std::string& exit_reason) const;

  const int id_;
  const trace_budget budget_;
  std::shared_ptr<post_gate> gate_;
  std::function<void(nlohmann::json, bool)> emit_;
  std::mutex mutex_;
  bool finished_ = false;
  std::uint64_t shown_ = 0, suppressed_ = 0, suppressed_reported_ = 0;
  std::uint32_t in_window_ = 0;
  std::chrono::steady_clock::time_point window_start_{};
};

}  // namespace agner::introspect

namespace agner::introspect {

/// What a session keeps for each of its traces (session_trace.cpp).
struct session_trace {
  session_trace(asio::io_context& io, std::shared_ptr<message_trace> s, pid p, std::chrono::steady_clock::time_point d)
      : sink(std::move(s)), target(p), deadline(d), tick(io) {}
  std::shared_ptr<message_trace> sink;
  pid target;
  std::chrono::steady_clock::time_point deadline;  ///< the seconds budget
  asio::steady_timer tick;                         ///< once a second: deadline, liveness, suppressed
};

}  // namespace agner::introspect
