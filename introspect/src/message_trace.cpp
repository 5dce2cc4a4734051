#include "message_trace.hpp"

#include <fmt/format.h>

namespace agner::introspect {

namespace {
std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}
nlohmann::json pid_or_null(pid p) { return p ? nlohmann::json(fmt::format("{}", p)) : nlohmann::json(); }
}  // namespace

message_trace::message_trace(int id, trace_budget budget, std::shared_ptr<post_gate> gate,
                             std::function<void(nlohmann::json, bool)> emit)
    : id_(id), budget_(budget), gate_(std::move(gate)), emit_(std::move(emit)) {}

void message_trace::on_trace(const trace_event& e) noexcept {
  try {
    // All under the mutex, posting included, so frames reach the session in the order they are
    // numbered and the end frame comes last. The rate limit bounds what is formatted here.
    std::lock_guard lock(mutex_);
    if (finished_) return;
    if (e.what == trace_event::kind::ended) {
      finished_ = true;
      gate_->post([emit = emit_, end = end_frame("exited", std::string(e.reason.substr(0, 256)))]() mutable {
        emit(std::move(end), true);
      });
      return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - window_start_ >= std::chrono::seconds(1)) {
      window_start_ = now;
      in_window_ = 0;
    }
    if (in_window_ >= budget_.rate) {
      ++suppressed_;
      return;
    }
    ++in_window_;
    ++shown_;
    nlohmann::json frame{{"event", "trace"},
                         {"trace", id_},
                         {"n", shown_},
                         {"at_ms", wall_ms()},
                         {"kind", e.what == trace_event::kind::received ? "received" : "sent"},
                         {"pid", fmt::format("{}", e.traced)},
                         {"peer", pid_or_null(e.peer)},
                         {"type", e.msg->type_name()},
                         {"bytes", e.msg->bytes()},
                         {"suppressed", suppressed_}};
    std::string text = e.msg->format();
    if (text.size() > budget_.preview_bytes) {
      text.resize(budget_.preview_bytes);
      frame["cut"] = true;
    }
    frame["text"] = std::move(text);
    nlohmann::json end;
    if (shown_ >= budget_.count) {
      finished_ = true;
      end = end_frame("count", {});
    }
    gate_->post([emit = emit_, frame = std::move(frame), end = std::move(end)]() mutable {
      const bool last = !end.is_null();
      emit(std::move(frame), false);
      if (last) emit(std::move(end), true);
    });
  } catch (...) {
    // A formatter that throws, or no memory: this event is lost; the message itself goes through.
  }
}

nlohmann::json message_trace::finish(const std::string& reason, const std::string& exit_reason) {
  std::lock_guard lock(mutex_);
  finished_ = true;
  return end_frame(reason, exit_reason);
}

std::uint64_t message_trace::suppressed_since_last_look() {
  std::lock_guard lock(mutex_);
  if (suppressed_ == suppressed_reported_) return 0;
  suppressed_reported_ = suppressed_;
  return suppressed_;
}

nlohmann::json message_trace::end_frame(const std::string& reason, const std::string& exit_reason) const {
  nlohmann::json f{{"event", "trace_end"}, {"trace", id_}, {"reason", reason}, {"shown", shown_}, {"suppressed", suppressed_}};
  if (!exit_reason.empty()) f["exit_reason"] = exit_reason;
  return f;
}

}  // namespace agner::introspect
