#pragma once
// The trace pane's connection: a session of its own on the node, so a trace never shares a session
// with the table's refreshes (which may reattach) and ends when the pane closes.
#include <chrono>
#include <optional>
#include <string>

#include "agner/etop/trace_view.hpp"
#include "agner/attach/client.hpp"
#include "link.hpp"

namespace agner::etop {

/// Not thread-safe: etop's one thread owns it.
class trace_link {
 public:
  /// Attaches a session of its own to `t` and asks the node to trace `p` (by pid) or `name` (when
  /// not empty) within `r`. A refusal (viewer, no such process, too many traces) or a failed attach
  /// ends the pane at once with the node's sentence in pane().status; false then.
  bool start(const target& t, pid p, const std::string& name, const std::string& title, const trace_request& r);
  /// Applies what the node sent within `wait` (and everything already received) to the pane. True
  /// if the pane changed. A lost connection ends the pane, saying so.
  bool poll(std::chrono::milliseconds wait);
  /// Asks the node something cheap on the trace's session (system_info), to tell a quiet process
  /// from a node that stopped answering. False, the pane ended with "trace lost: ..." and the
  /// client's sentence, when no answer came within the target's reply_within (or the link broke).
  /// Blocks up to reply_within; one small request.
  bool check();
  /// Closes the session: the node stops the trace.
  void stop();
  const trace_pane& pane() const { return pane_; }
  bool running() const { return client_.has_value() && !pane_.ended; }

 private:
  void end(const std::string& why);
  std::optional<introspect::client> client_;
  trace_pane pane_;
};

}  // namespace agner::etop
