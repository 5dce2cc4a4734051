// The context a handler is given: sends, spawns, links, monitors, requests, ports.
#include <algorithm>

#include "agner/runtime/runtime.hpp"
#include "node_state.hpp"
#include "request_timer.hpp"
#include "signals.hpp"

namespace agner {

pid context::self() const noexcept { return proc_->id(); }

bool context::send_message(pid to, message* m) {
  if (proc_->watch_flags() & detail::mailbox::watch_traced) [[unlikely]] rt_->internals().trace_sent(proc_, to, m);
  return rt_->internals().send(to, m, sched_) != detail::send_outcome::rejected;
}

std::optional<pid> context::whereis_admitted(std::string_view name) { return rt_->whereis_admitted(name); }

void context::exit(std::string reason) { proc_->set_exit(std::move(reason)); }

void context::note_link(pid child) { proc_->extension().links.push_back(child); }

void context::link(pid other) {
  auto& links = proc_->extension().links;
  if (other == self() || std::find(links.begin(), links.end(), other) != links.end()) return;
  links.push_back(other);
  auto& n = rt_->internals();
  if (n.send_value(other, detail::link_signal{self()}, sched_) != detail::send_outcome::queued)
    n.send_value(self(), detail::exit_signal{other, "noproc", true}, sched_);
}

void context::unlink(pid other) {
  auto& links = proc_->extension().links;
  auto it = std::find(links.begin(), links.end(), other);
  if (it == links.end()) return;
  links.erase(it);
  rt_->internals().send_value(other, detail::unlink_signal{self()}, sched_);
}

std::uint64_t context::new_ref() noexcept {
  return rt_->internals().next_ref.fetch_add(1, std::memory_order_relaxed);
}

void context::send_request(pid to, std::uint64_t ref, message* request) {
  auto& n = rt_->internals();
  // The request goes first, so that a request refused (dead target, full bounded mailbox) costs no
  // monitor. (A monitor takes no place in a bounded mailbox: it is a bookkeeping signal, see
  // message_type::tally.)
  const auto sent = n.send(to, request, sched_);
  if (sent != detail::send_outcome::queued) {
    const char* reason = sent == detail::send_outcome::dead_letter ? "noproc" : "refused";
    n.send_value(self(), detail::reply_signal{ref, reply::status::noproc, message_ptr(make_message<std::string>(reason))},
                 sched_);
    return;
  }
  proc_->extension().pending.back().callee = to;  // await_reply pushed it just now
  const monitor_ref mon{ref};  // refs and monitor refs share one counter: the request's names its monitor
  // If `to` ended meanwhile, its answer (if any) is queued here ahead of this DOWN, which then finds
  // nothing pending and is dropped. A target that answers before the monitor arrives keeps nothing:
  // the requester's cancel follows the monitor.
  if (n.send_value(to, detail::monitor_signal{self(), mon}, sched_) != detail::send_outcome::queued)
    n.send_value(self(), detail::down_signal{mon, to, "noproc"}, sched_);
}

void context::await_reply(std::uint64_t ref, std::chrono::nanoseconds timeout,
                          std::function<void(context&, agner::reply&)> on_reply) {
  auto& x = proc_->extension();
  std::int64_t deadline = INT64_MAX;
  if (timeout != agner::infinity) {
    auto& timers = *rt_->internals().timers;
    deadline = timers.deadline_ms(timeout);
    detail::arm_request_timer(timers, x, self(), deadline, sched_);
  }
  x.pending.push_back({ref, deadline, std::move(on_reply)});
}


void context::send_reply(const reply_to& to, message* body) {
  // The requester monitors us under the request's ref (send_request): drop that monitor here, so
  // that no cancel has to come back. A request passed on and answered by another process keeps its
  // monitor here until the requester cancels it.
  pid replier{};
  if (proc_->ext && proc_->ext->monitored_by.erase(to.ref)) replier = self();
  rt_->internals().send_value(to.from, detail::reply_signal{to.ref, reply::status::ok, message_ptr(body), replier},
                              sched_);
}

void context::post_blocking(std::uint64_t ref, std::function<message*()> work) {
  auto& n = rt_->internals();
  n.io->run_blocking([&n, ref, to = self(), work = std::move(work)] {
    detail::reply_signal answer{ref, reply::status::ok, nullptr};
    try {
      answer.body = message_ptr(work());
    } catch (const std::exception& e) {
      answer = {ref, reply::status::failed, message_ptr(make_message<std::string>(e.what()))};
    } catch (...) {
      answer = {ref, reply::status::failed, message_ptr(make_message<std::string>("unknown exception"))};
    }
    n.send_value(to, std::move(answer), nullptr);
  });
}

std::pair<port_id, std::uint16_t> context::tcp_listen(const std::string& address, std::uint16_t port, int backlog) {
  auto result = rt_->internals().io->listen(self(), address, port, backlog);
  proc_->extension().owns_ports = true;
  return result;
}

void context::tcp_connect(const std::string& host, std::uint16_t port) {
  rt_->internals().io->connect(self(), host, port);
}
void context::tcp_send(port_id socket, std::string bytes) { rt_->internals().io->send(socket, std::move(bytes)); }
void context::tcp_send(port_id socket, binary bytes) { rt_->internals().io->send(socket, std::move(bytes)); }
void context::activate(port_id socket) { rt_->internals().io->activate(socket); }
void context::close_port(port_id port) { rt_->internals().io->close(port); }
void context::give_port(port_id port, pid new_owner) { rt_->internals().io->give(port, self(), new_owner); }

void context::trap_exit(bool on) { proc_->extension().trap_exit = on; }

void context::send_exit(pid to, std::string reason) {
  rt_->internals().send_value(to, detail::exit_signal{self(), std::move(reason), false}, sched_);
}

monitor_ref context::monitor(pid other) {
  auto& n = rt_->internals();
  monitor_ref ref{n.next_ref.fetch_add(1, std::memory_order_relaxed)};
  proc_->extension().monitoring.emplace_back(ref, other);
  if (n.send_value(other, detail::monitor_signal{self(), ref}, sched_) != detail::send_outcome::queued)
    n.send_value(self(), detail::down_signal{ref, other, "noproc"}, sched_);
  return ref;
}

void context::demonitor(monitor_ref ref) {
  auto& mons = proc_->extension().monitoring;
  auto it = std::find_if(mons.begin(), mons.end(), [&](const auto& e) { return e.first == ref; });
  if (it == mons.end()) return;
  pid target = it->second;
  mons.erase(it);
  rt_->internals().send_value(target, detail::demonitor_signal{ref}, sched_);
}

agner::heap& context::heap() {
  auto& x = proc_->extension();
  if (!x.heap)
    x.heap = std::make_unique<agner::heap>(
        x.max_heap_bytes, detail::heap_meters{&proc_->memory.heap_bytes, &rt_->internals().heap_bytes});
  return *x.heap;
}

void context::hibernate() { proc_->extension().hibernate = true; }

void context::add_reductions(std::uint64_t n) noexcept { sched_->add_reductions(proc_, n); }

}  // namespace agner

namespace agner {

void reply::throw_bad_type(const std::type_info& wanted) const {
  const std::string want = demangle(wanted.name());
  if (!body_) {
    const char* why = status_ == status::timeout ? "timed out"
                      : status_ == status::noproc ? "got noproc"
                      : status_ == status::failed ? "failed"
                                                  : "has no answer";
    throw bad_reply_type(fmt::format("reply {}: no answer of type {}", why, want));
  }
  throw bad_reply_type(fmt::format("reply holds {}, not {}", body_->type_name(), want));
}

}  // namespace agner

namespace agner {

void context::unhandled(const message& m) {
  auto& x = proc_->extension();
  ++x.unhandled;
  sched_->count_unhandled();
  auto& seen = x.unhandled_types;
  if (std::find(seen.begin(), seen.end(), m.type) != seen.end()) return;
  seen.push_back(m.type);
  std::string shown = m.format();
  rt_->log(fmt::format("{} got an unhandled message of type {}{}{} (later ones of this type are only counted)",
                       self(), m.type_name(), shown.empty() ? "" : ": ", shown));
}

}  // namespace agner
