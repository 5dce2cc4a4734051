// Message tracing (agner/runtime/trace.hpp). Everything here is off the hot path: a send reaches it
// only when the receiver's mailbox says "traced" (the top bit of its bound, which push tests anyway)
// or the sender's own flag byte does.
#include "agner/runtime/trace.hpp"

#include <algorithm>

#include "agner/runtime/runtime.hpp"
#include "node_state.hpp"

namespace agner {
namespace detail {

send_outcome node_state::send_traced(process* p, pid to, message* m, std::uint32_t sent_ms, scheduler* local) {
  if (!m->signal()) {
    // Before the push: once queued, the message belongs to the receiver, which may already be
    // handling (and destroying) it.
    const process* from = local ? local->running() : nullptr;
    const trace_event e{trace_event::kind::received, to, from ? from->id() : pid{}, m, {}};
    std::lock_guard lock(traces.mutex);
    for (auto& t : traces.entries)
      if (t.traced == to) t.sink->on_trace(e);
  }
  // The rest is send()'s own path after its push.
  const auto pushed = p->push_traced(m);
  if (pushed == mailbox::push_result::queued) {
    if (watch.on()) watch.on_send(p, to, sent_ms, false);
    return send_outcome::queued;
  }
  if (pushed == mailbox::push_result::woke_owner) {
    if (watch.on()) watch.on_send(p, to, sent_ms, true);
    p->note_oldest(sent_ms);
    schedule(p, local);
    return send_outcome::queued;
  }
  return send_otherwise(pushed, p, to, m, sent_ms, local);
}

void node_state::trace_sent(const process* from, pid to, const message* m) {
  if (m->signal()) return;
  const pid self = from->id();
  const trace_event e{trace_event::kind::sent, self, to, m, {}};
  std::lock_guard lock(traces.mutex);
  for (auto& t : traces.entries)
    if (t.traced == self && t.sent) t.sink->on_trace(e);
}

void node_state::trace_ended(process* p, pid who, std::string_view reason) {
  const trace_event e{trace_event::kind::ended, who, pid{}, nullptr, reason};
  std::lock_guard lock(traces.mutex);
  auto& v = traces.entries;
  for (auto& t : v)
    if (t.traced == who) t.sink->on_trace(e);
  v.erase(std::remove_if(v.begin(), v.end(), [&](const trace_registry::entry& t) { return t.traced == who; }), v.end());
  p->drop_watch_flag(mailbox::watch_traced);
  p->mark_traced(false);
}

}  // namespace detail

trace_start_result start_trace(runtime& rt, pid p, bool sent, std::shared_ptr<trace_sink> sink) {
  auto& n = detail::runtime_access::of(rt);
  detail::process* slot = p ? n.table.slot(p.index) : nullptr;
  std::lock_guard lock(n.traces.mutex);
  if (!slot || slot->serial() != p.serial || slot->status.load(std::memory_order_relaxed) == process_status::exiting)
    return trace_start_result::noproc;
  if (n.traces.entries.size() >= max_traces) return trace_start_result::full;
  n.traces.entries.push_back({p, sent, std::move(sink)});
  // A process ending at this very moment may have looked at its flag already and will send no end
  // event: the caller also watches for the process's end (the attach server polls its liveness).
  slot->raise_watch_flag(detail::mailbox::watch_traced);  // for its sends and its end
  slot->mark_traced(true);                                 // for the sends to it
  return trace_start_result::started;
}

bool stop_trace(runtime& rt, pid p, const trace_sink* sink) {
  auto& n = detail::runtime_access::of(rt);
  std::lock_guard lock(n.traces.mutex);
  auto& v = n.traces.entries;
  auto it = std::find_if(v.begin(), v.end(), [&](const detail::trace_registry::entry& t) {
    return t.traced == p && t.sink.get() == sink;
  });
  if (it == v.end()) return false;
  v.erase(it);
  const bool others = std::any_of(v.begin(), v.end(), [&](const detail::trace_registry::entry& t) { return t.traced == p; });
  // Only the same incarnation's flag: a reused slot's new process starts with none (mailbox::open).
  if (detail::process* slot = n.table.slot(p.index); !others && slot && slot->serial() == p.serial) {
    slot->drop_watch_flag(detail::mailbox::watch_traced);
    slot->mark_traced(false);
  }
  return true;
}

std::size_t trace_count(const runtime& rt) {
  auto& n = detail::runtime_access::of(const_cast<runtime&>(rt));
  std::lock_guard lock(n.traces.mutex);
  return n.traces.entries.size();
}

}  // namespace agner
