#pragma once
/// Message tracing (recon_trace's safety, in the runtime): a sink sees the messages one process
/// receives, and optionally those it sends, until it is removed or the process ends.
///
/// Cost: sends to an untraced process pay nothing new (a trace marks the mailbox's bound word,
/// which every push already tests); a send from a process through context::send pays one relaxed
/// load and a test of its own flag byte; no atomic read-modify-write, no clock read, no lock. A
/// traced process's senders take a mutex around a registry of at most max_traces entries and call
/// the sink.
#include <cstddef>
#include <memory>
#include <string_view>

#include "agner/runtime/message.hpp"
#include "agner/snapshot/pid.hpp"

namespace agner {

class runtime;

/// One traced message, or the end of a trace.
struct trace_event {
  enum class kind : std::uint8_t {
    received,  ///< `message` is being put in the traced process's mailbox (by its sender, before the
               ///< push: a message a full bounded mailbox then refuses is shown too)
    sent,      ///< the traced process is sending `message` to `peer`
    ended,     ///< the traced process ended (`reason`); no event follows
  };
  kind what = kind::received;
  pid traced;                 ///< the traced process
  pid peer;                   ///< the sender (received) or the receiver (sent); pid{} from outside any process
  const message* msg = nullptr;  ///< received and sent: valid only during the call (format it there)
  std::string_view reason;       ///< ended: the exit reason; valid only during the call
};

/// Receives trace events. on_trace runs on scheduler and sender threads, several at once: it must
/// be thread-safe, short, must not block, must not send messages (a send from it to the traced
/// process would trace again) and must not call start_trace or stop_trace: it runs under the
/// registry's mutex, which is what lets stop_trace promise that no event follows it.
class trace_sink {
 public:
  virtual ~trace_sink() = default;
  virtual void on_trace(const trace_event& e) noexcept = 0;
};

/// Traces per runtime at once (each start_trace call holds one, whatever its pid).
inline constexpr std::size_t max_traces = 16;

/// What start_trace answers.
enum class trace_start_result { started, noproc, full };

/// Starts tracing `p`: `sink` sees each ordinary message (not links, monitors, replies) sent to it
/// and, with `sent`, each it sends through context::send, then one `ended` event if `p` ends while
/// traced. Thread-safe; O(max_traces) under a mutex. noproc if `p` is not alive, full past
/// max_traces. The runtime keeps `sink` until stop_trace or the end event.
trace_start_result start_trace(runtime& rt, pid p, bool sent, std::shared_ptr<trace_sink> sink);

/// Stops the trace of `p` by `sink` (no end event); no event reaches `sink` after it returns.
/// Thread-safe; O(max_traces).
/// False if there was no such trace.
bool stop_trace(runtime& rt, pid p, const trace_sink* sink);

/// Traces held now. Thread-safe.
std::size_t trace_count(const runtime& rt);

}  // namespace agner
