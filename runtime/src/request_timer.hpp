#pragma once
/// A process's requests share one timer, armed for the earliest deadline among them: a request
/// answered in time (nearly all of them) costs a clock read and a comparison, and no timer
/// operation at all. When the timer falls due, the requests past their deadline time out and the
/// timer is armed again for the next one (see scheduler::on_signal).
#include <algorithm>
#include <cstdint>

#include "node_state.hpp"
#include "process.hpp"
#include "signals.hpp"
#include "timer_service.hpp"

namespace agner::detail {

/// Arms `x`'s request timer for `deadline_ms` unless it is already armed for that time or earlier.
/// The owning scheduler only.
inline void arm_request_timer(timer_service& timers, process_ext& x, pid self, std::int64_t deadline_ms,
                              scheduler* local) {
  if (deadline_ms >= x.request_timer_ms) return;
  if (x.request_timer) timers.cancel(x.request_timer);  // if it fired already, its signal finds nothing more to do
  x.request_timer_ms = deadline_ms;
  x.request_timer = timers.start_at(deadline_ms, self, make_message<request_deadline_signal>(request_deadline_signal{deadline_ms}), local);
}

/// `p`'s request timer fell due at `at_ms`: every request due by then times out (through a
/// request_timeout_signal to itself, so that each continuation runs as a handler of its own), and
/// the timer is armed for the next deadline. A timer replaced meanwhile (its cancel came too late)
/// still times out what is due, and changes nothing else. The owning scheduler only.
inline void expire_requests(node_state& node, process* p, std::int64_t at_ms, scheduler* local) {
  process_ext& x = p->extension();
  if (at_ms == x.request_timer_ms) {
    x.request_timer = 0;
    x.request_timer_ms = INT64_MAX;
  }
  std::int64_t next = INT64_MAX;
  for (auto& e : x.pending) {
    if (e.deadline_ms <= at_ms) {
      node.send_value(p->id(), request_timeout_signal{e.ref}, local);
      e.deadline_ms = INT64_MAX;  // on its way out: no timer needed any more
    } else {
      next = std::min(next, e.deadline_ms);
    }
  }
  if (next != INT64_MAX) arm_request_timer(*node.timers, x, p->id(), next, local);
}

}  // namespace agner::detail
