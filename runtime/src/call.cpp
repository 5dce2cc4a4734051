// co_await ctx.call: a coroutine handler's gen_server:call. The caller's other messages stay queued;
// the call's answer, timeout and the callee's DOWN are signals, taken on arrival (scheduler::settle_call).
#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

#include "agner/runtime/runtime.hpp"
#include "node_state.hpp"
#include "request_timer.hpp"
#include "scheduler.hpp"
#include "signals.hpp"

namespace agner {

context& context::coroutine_context() {
  auto& x = proc_->extension();
  if (!x.await) x.await = std::make_unique<detail::await_state>(rt_, proc_);
  x.await->set_scheduler(sched_);
  return x.await->ctx;
}

bool context::begin_call(pid to, message* request, std::chrono::nanoseconds timeout, detail::call_slot& slot) {
  if (to == self()) {
    destroy(request);
    throw std::logic_error(fmt::format("process {} called itself: it would wait for its own answer for ever", to));
  }
  auto& n = rt_->internals();
  auto& x = proc_->extension();
  slot.callee = to;
  slot.mon = monitor_ref{n.next_ref.fetch_add(1, std::memory_order_relaxed)};
  if (n.send_value(to, detail::monitor_signal{self(), slot.mon}, sched_) != detail::send_outcome::queued) {
    destroy(request);  // dead already
    slot.status = reply::status::noproc;
    slot.arrived = true;
    return false;
  }
  std::int64_t deadline = INT64_MAX;
  if (timeout != agner::infinity) {
    auto& timers = *n.timers;
    deadline = timers.deadline_ms(timeout);
    detail::arm_request_timer(timers, x, self(), deadline, sched_);
  }
  if (n.send(to, request, sched_) != detail::send_outcome::queued) {  // a bounded mailbox refused it
    n.send_value(to, detail::demonitor_signal{slot.mon}, sched_);
    slot.status = reply::status::noproc;
    slot.arrived = true;
    return false;
  }
  x.pending.push_back({slot.ref, deadline, {}});
  x.await->slot = &slot;
  proc_->stop |= detail::process::stop_await;
  return true;
}

void async_behaviour::handle(context& ctx, message& msg) {
  detail::task_runner::run(ctx, msg, [this](context& c, message& m) { return handle_async(c, m); });
}

void context::start_task(message& msg, task t) {
  auto h = t.release();
  auto& a = *proc_->ext->await;
  a.frame = h;
  h.resume();
  if (!h.done()) {  // awaiting a call (the only thing a task can await)
    a.hold(msg);
    return;
  }
  a.frame = {};
  std::exception_ptr error = h.promise().error;
  h.destroy();
  if (error) std::rethrow_exception(error);
}

}  // namespace agner

namespace agner::detail {

[[noreturn]] void throw_call_error(const call_slot& slot) {
  if (slot.status == reply::status::timeout) {
    throw call_error(slot.status, fmt::format("call to {} timed out after {} ms", slot.callee,
                                              std::chrono::duration_cast<std::chrono::milliseconds>(slot.timeout).count()));
  }
  if (slot.down && slot.reason != "noproc") {
    throw call_error(slot.status,
                     fmt::format("call to {}: the callee exited before answering: {}", slot.callee, slot.reason));
  }
  throw call_error(slot.status, fmt::format("call to {}: noproc (no such process)", slot.callee));
}

/// On arrival, while `p` awaits a call: takes the call's answer, timeout or the callee's DOWN out
/// of the queue (a selective receive that scans nothing: they are signals, seen as they arrive).
/// True if `m` was one of them.
bool scheduler::settle_call(process* p, message* m) {
  call_slot* slot = p->ext->await->slot;
  if (!slot || slot->arrived) return false;
  if (auto* r = m->get<reply_signal>(); r && r->ref == slot->ref) {
    slot->status = r->status;
    slot->body = std::move(r->body);
  } else if (auto* t = m->get<request_timeout_signal>(); t && t->ref == slot->ref) {
    slot->status = reply::status::timeout;
  } else if (auto* d = m->get<down_signal>(); d && d->ref == slot->mon) {
    slot->status = reply::status::noproc;
    slot->reason = std::move(d->reason);
    slot->down = true;
  } else {
    return false;
  }
  slot->arrived = true;
  auto& pending = p->ext->pending;
  auto it = std::find_if(pending.begin(), pending.end(), [&](const auto& e) { return e.ref == slot->ref; });
  if (it != pending.end()) pending.erase(it);
  return true;
}

/// The run loop's stop for a process that handles no message (suspended, or awaiting a call): if
/// its call is settled and it is not suspended, runs its handler on and returns false (the loop
/// goes on); else shows it suspended or waiting and blocks it keeping its queue (true), unless a
/// push came meanwhile (false). Out of line so that the run loop is the same as without coroutines.
bool scheduler::idle_or_resume(process* p, bool locks) {
  if (p->stop == process::stop_await && p->ext->await->slot->arrived) {
    if (locks) p->unlock_consumer();
    resume_call(p);
    if (locks && p->lock_consumer()) {
      const std::uint32_t serial = p->serial();
      p->absorb_moved([&](message* m) { return apply_on_arrival(p, m, serial); });
    }
    return false;
  }
  p->set_status(p->suspended() ? process_status::suspended : process_status::waiting);
  return p->try_block_keeping_queue();
}

/// Runs `p`'s suspended handler on from its call, whose outcome is in, under the same crash guard
/// as a handler (run_as's `guarded`); the frame and the message are gone once it ends.
void scheduler::resume_call(process* p) {
  auto crash = [&](const char* what) {
    p->set_exit(what);
    p->crashed = true;
    std::string name = p->registered ? fmt::format(" ({})", node_.names.name_of(p->index)) : std::string();
    node_.log(fmt::format("process {}{} crashed: {}", p->id(), name, what));
  };
  try {
    run_awaited(p);
  } catch (const max_heap_error&) {
    // tend() ends it with reason max_heap
  } catch (const std::exception& e) {
    crash(e.what());
  } catch (...) {
    crash("unknown exception");
  }
}

void scheduler::run_awaited(process* p) {
  await_state& a = *p->ext->await;
  call_slot& slot = *a.slot;
  p->stop &= static_cast<std::uint8_t>(~process::stop_await);
  a.slot = nullptr;
  if (!slot.down) node_.send_value(slot.callee, demonitor_signal{slot.mon}, this);
  a.set_scheduler(this);
  a.show();
  a.frame.resume();  // may reach another call: then stop_await and a.slot are set again
  if (!a.frame.done()) {
    a.hide();
    return;
  }
  std::exception_ptr error = a.frame.promise().error;
  a.drop();
  if (error) std::rethrow_exception(error);
}

}  // namespace agner::detail
