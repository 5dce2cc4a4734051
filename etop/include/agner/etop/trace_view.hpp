#pragma once
/// etop's trace pane (`T`, docs/etop.md "Message tracing"): what a trace_start on the node streams,
/// as plain lines. Pure: the frames come in as JSON, the pane goes out as a frame.
#include <cstdint>
#include <deque>
#include <string>

#include <nlohmann/json.hpp>

#include "agner/etop/render.hpp"
#include "agner/etop/view.hpp"

namespace agner::etop {

/// The budget etop asks for (the node caps each: docs/protocol.md).
struct trace_request {
  std::uint64_t count = 100;   ///< stop after this many messages shown
  std::uint32_t seconds = 60;  ///< stop after this many seconds
  std::uint32_t rate = 20;     ///< at most this many shown per second
  bool sent = true;            ///< sent messages too, not only received ones
};

/// What the trace pane shows.
struct trace_pane {
  pid target;
  std::string title;              ///< the process as the operator saw it (name or behaviour)
  std::deque<std::string> lines;  ///< one per traced message, oldest first, at most max_lines
  static constexpr std::size_t max_lines = 1000;
  std::uint64_t shown = 0, suppressed = 0;
  bool ended = false;
  std::string status;  ///< how it ended, or why the node refused it; empty while it runs
};

/// One `trace` event frame as a line: "12:00:01.123 <0.7.1> <- <0.9.1>  order 48 B  order{id=7}"
/// (`<-` received from the peer, `->` sent to it; `outside` for no peer). The time is local, with
/// milliseconds. Control characters in the preview are escaped. Throws nlohmann::json::exception
/// for a frame that lacks a field.
std::string trace_line(const nlohmann::json& event);

/// Applies one frame from the node (trace, trace_suppressed, trace_end) to the pane; others are
/// ignored. True if it changed.
bool apply_trace_frame(trace_pane& pane, const nlohmann::json& frame);

/// The trace screen: a title with the counts, the newest lines that fit, a footer. Pure.
frame trace_screen(const trace_pane& pane, const view_state& v, int width, int height);

/// `T` on a process (table or inspect): opens the pane for `target` (outcome::trace), or, for a
/// viewer session, a notice saying tracing needs the admin role.
outcome trace_key(view_state& v, pid target);
/// A key on the trace screen: Esc, Backspace or q go back (stopping the trace); others do nothing.
outcome on_trace_key(view_state& v, int key);

}  // namespace agner::etop
