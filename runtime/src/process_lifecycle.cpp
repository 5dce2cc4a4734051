// Running a process: its messages and signals, and its end (exit signals to links, DOWN to monitors).
#include <algorithm>
#include <exception>

#include <fmt/format.h>

#include "node_state.hpp"
#include "request_timer.hpp"
#include "scheduler.hpp"
#include "signals.hpp"

namespace agner::detail {
namespace {

template <class V, class K>
bool erase_first(V& v, const K& key) {
  auto it = std::find(v.begin(), v.end(), key);
  if (it == v.end()) return false;
  v.erase(it);
  return true;
}

template <class V>
bool erase_ref(V& v, monitor_ref ref) {
  auto it = std::find_if(v.begin(), v.end(), [&](const auto& e) { return e.first == ref; });
  if (it == v.end()) return false;
  v.erase(it);
  return true;
}

std::string name_suffix(node_state& node, const process* p) {
  return p->registered ? fmt::format(" ({})", node.names.name_of(p->index)) : std::string();
}

}  // namespace

void scheduler::run(process* p) {
  // Two copies of the loop, so an unbounded mailbox pays nothing for drop_oldest's consumer lock.
  if (p->policy() == mailbox::overflow::drop_oldest) [[unlikely]] {  // open() made max_len nonzero
    run_as<true>(p);
  } else {
    run_as<false>(p);
  }
}

template <bool drops_oldest>
void scheduler::run_as(process* p) {
  context_switches_.add();
  current_.store(p, std::memory_order_relaxed);  // left as is on return: idle() clears it
  p->set_status(process_status::running);
  context ctx(&node_.rt, p, this);
  behaviour& code = *p->code;
  auto crash = [&](const char* what) {
    p->set_exit(what);
    p->crashed = true;
    node_.log(fmt::format("process {}{} crashed: {}", p->id(), name_suffix(node_, p), what));
  };
  auto guarded = [&](auto&& call) {
    try {
      call();
    } catch (const max_heap_error&) {
      // tend() ends it with reason max_heap: the heap remembers it was passed
    } catch (const std::exception& e) {
      crash(e.what());
    } catch (...) {
      crash("unknown exception");
    }
  };
  if (p->ext && p->ext->init) {
    init_fn init = p->ext->init;
    p->ext->init = nullptr;
    guarded([&] { init(code, ctx); });
  }
  const std::uint32_t serial = p->serial();
  const std::uint64_t keep_at_most = drops_oldest ? p->max_len() : 0;
  // Signals that end the process act when they arrive, not after the messages queued before them.
  auto early = [&](message* m) { return apply_on_arrival(p, m, serial); };
  auto absorb = [&]() __attribute__((always_inline)) { return p->absorb(early); };
  // A drop_oldest mailbox is trimmed by its senders too (mailbox.hpp): the owner holds its consumer
  // lock except inside handlers, and applies the signals a sender moved into its queue meanwhile.
  constexpr bool locks = drops_oldest;
  auto hold = [&] {
    if (p->lock_consumer()) p->absorb_moved(early);
  };
  auto drop_oldest = [&](message* m) {
    dropped_oldest_.add();
    destroy(m);
  };
  if (locks) hold();
  absorb();
  for (;;) {
    while (!p->stop) {
      message* m = p->pop();
      if (drops_oldest && m && !m->signal() && p->length() >= keep_at_most) {  // among the excess oldest
        drop_oldest(m);
        continue;
      }
      if (!m) {
        if (absorb()) continue;
        if (p->ext) {
          tend(p);
          if (p->stop) break;
        }
        p->set_status(process_status::waiting);
        if (node_.watch.on()) node_.watch.on_owner(p, now_ms_);
        if (p->try_block()) {  // idle now; a sender may already have it running elsewhere
          if (locks) p->unlock_consumer();
          return;
        }
        p->set_status(process_status::running);
        continue;
      }
      if (m->target_serial != serial) {  // sent to an earlier owner of this slot
        dead_letters_.add();
        destroy(m);
        continue;
      }
      delivered_.add();
      p->received.add();
      add_reductions(p, 1);
      if (m->signal()) {
        message* user = on_signal(p, m);
        destroy(m);
        if (user && user->is<continuation_call>()) {
          auto* k = user->get<continuation_call>();
          if (locks) p->unlock_consumer();
          guarded([&] { k->fn(ctx, k->result); });
          if (locks) hold();
          destroy(user);
          user = nullptr;
        }
        m = user;
      }
      if (m) {
        handling_.store(m->type, std::memory_order_relaxed);
        if (locks) p->unlock_consumer();
        guarded([&] { code.handle(ctx, *m); });
        if (locks) hold();
        destroy(m);
      }
      if (slice_left_ == 0 && !p->stop) {
        absorb();  // an exit signal behind a long queue takes effect within one slice
        if (p->ext && !p->stop) tend(p);
        if (p->stop) break;
        p->publish_oldest();
        if (node_.watch.on()) node_.watch.on_owner(p, now_ms_);
        if (node_.stopping.load(std::memory_order_relaxed)) {  // runtime::stop discards the queue
          if (locks) p->unlock_consumer();
          leave_soon();
          return;
        }
        if (others_waiting()) {
          p->set_status(process_status::runnable);
          if (locks) p->unlock_consumer();
          requeue_after_slice(p);
          return;
        }
        slice_left_ = node_.slice_reductions.load(std::memory_order_relaxed);
      }
    }
    if (p->exiting()) break;
    // Suspended, or awaiting a call: idle with the queue kept. Any push wakes it to apply signals
    // (resume, kill, the call's outcome), and it blocks again unless that let it go on. Its bound
    // holds meanwhile: it drops the oldest excess itself.
    if constexpr (locks) {
      p->trim_oldest(keep_at_most, drop_oldest);
      if (p->moved_signals()) {  // the trim took pushed signals: apply them, maybe a resume
        p->absorb_moved(early);
        continue;
      }
    }
    p->publish_oldest();
    if (idle_or_resume(p, locks)) {
      if (locks) p->unlock_consumer();
      return;
    }
    p->set_status(process_status::running);
    absorb();
  }
  terminate(p, locks);
}

/// Called for each signal as it arrives, before the messages already queued are handled, as
/// Erlang acts on signals when they arrive. Applies link and monitor bookkeeping and exit signals
/// that end the process; returns false for everything the process must see in order (trapped exits,
/// DOWNs, replies, timeouts, ports), which then waits its turn.
bool scheduler::apply_on_arrival(process* p, message* m, std::uint32_t serial) {
  if (m->target_serial != serial) return false;  // for an earlier owner: dead-lettered in turn
  if (auto* s = m->get<exit_signal>()) {
    const bool trapping = p->ext && p->ext->trap_exit;
    const bool kills = !s->from_link && s->reason == "kill";
    if (trapping && !kills) return false;
    if (s->from_link && !erase_first(p->extension().links, s->from)) {
      // unlinked meanwhile: ignored
    } else if (kills) {
      p->set_exit("killed");
    } else if (s->reason != "normal") {
      p->set_exit(std::move(s->reason));
    }
  } else if (m->is<link_signal>() || m->is<unlink_signal>() || m->is<monitor_signal>() || m->is<demonitor_signal>()) {
    on_signal(p, m);
  } else if (m->is<gc_signal>()) {
    if (!p->exiting()) collect(p, gc_kind::requested);
  } else if (auto* sus = m->get<suspend_signal>()) {
    p->stop = static_cast<std::uint8_t>(sus->suspend ? p->stop | process::stop_suspend
                                                     : p->stop & ~process::stop_suspend);
  } else if (auto* i = m->get<inspect_signal>()) {
    i->done(report(p, i->options));
  } else if (auto* d = m->get<request_deadline_signal>()) {
    // Bookkeeping (it queues the timeouts due, which keep their turn): at once, so that a process
    // awaiting a call (which handles nothing in turn) still sees its timeout.
    expire_requests(node_, p, d->at_ms, this);
  } else if (!(p->awaiting() && settle_call(p, m))) {
    return false;
  }
  delivered_.add();
  p->received.add();
  add_reductions(p, 1);
  destroy(m);
  return true;
}

/// Applies a signal to `p`. Returns what the handler should see instead (an exit_message for a
/// process that traps exits, a down_message), or nullptr.
message* scheduler::on_signal(process* p, message* m) {
  if (auto* s = m->get<exit_signal>()) {
    process_ext& x = p->extension();
    if (s->from_link && !erase_first(x.links, s->from)) return nullptr;  // unlinked meanwhile
    if (!s->from_link && s->reason == "kill") {
      p->set_exit("killed");  // cannot be trapped
    } else if (x.trap_exit) {
      return make_message<exit_message>(exit_message{s->from, std::move(s->reason)});
    } else if (s->reason != "normal") {
      p->set_exit(std::move(s->reason));
    }
    return nullptr;
  }
  if (auto* s = m->get<down_signal>()) {
    auto& x = p->extension();
    if (erase_ref(x.monitoring, s->ref))
      return make_message<down_message>(down_message{s->ref, s->who, std::move(s->reason)});
    // A request's own monitor (context::send_request): its callee ended before answering.
    auto it = std::find_if(x.pending.begin(), x.pending.end(),
                           [&](const auto& e) { return e.ref == s->ref.id && e.callee == s->who; });
    if (it == x.pending.end()) return nullptr;  // demonitored, answered or timed out meanwhile
    auto fn = std::move(it->on_reply);
    x.pending.erase(it);
    return make_message<continuation_call>(continuation_call{
        std::move(fn), reply(reply::status::noproc, message_ptr(make_message<std::string>(std::move(s->reason))))});
  }
  if (auto* r = m->get<reply_signal>()) {
    auto& pending = p->extension().pending;
    auto it = std::find_if(pending.begin(), pending.end(), [&](const auto& e) { return e.ref == r->ref; });
    if (it == pending.end()) {  // timed out already: never reaches unrelated code
      late_replies_.add();
      return nullptr;
    }
    auto fn = std::move(it->on_reply);
    if (it->callee && r->replier != it->callee)  // else the callee dropped the monitor as it answered
      node_.send_value(it->callee, demonitor_signal{monitor_ref{it->ref}}, this);
    pending.erase(it);
    return make_message<continuation_call>(continuation_call{std::move(fn), reply(r->status, std::move(r->body))});
  }
  if (auto* t = m->get<request_timeout_signal>()) {
    auto& pending = p->extension().pending;
    auto it = std::find_if(pending.begin(), pending.end(), [&](const auto& e) { return e.ref == t->ref; });
    if (it == pending.end()) return nullptr;  // answered in time
    auto fn = std::move(it->on_reply);
    if (it->callee) node_.send_value(it->callee, demonitor_signal{monitor_ref{it->ref}}, this);
    pending.erase(it);
    return make_message<continuation_call>(continuation_call{std::move(fn), reply(reply::status::timeout, nullptr)});
  }
  // request_deadline_signal never gets here: apply_on_arrival takes it.
  if (auto* ps = m->get<port_signal>()) {
    p->extension().owns_ports = true;
    switch (ps->what) {
      case port_signal::kind::accepted:
        return make_message<tcp_accepted>(tcp_accepted{ps->listener, ps->socket, std::move(ps->peer)});
      case port_signal::kind::connected:
        return make_message<tcp_connected>(tcp_connected{ps->socket, std::move(ps->peer)});
      case port_signal::kind::given_socket:
        return make_message<port_given>(port_given{ps->socket, "socket"});
      case port_signal::kind::given_listener:
        return make_message<port_given>(port_given{ps->socket, "listener"});
    }
    return nullptr;
  }
  if (auto* s = m->get<link_signal>()) {
    auto& links = p->extension().links;
    if (std::find(links.begin(), links.end(), s->from) == links.end()) links.push_back(s->from);
  } else if (auto* u = m->get<unlink_signal>()) {
    erase_first(p->extension().links, u->from);
  } else if (auto* mon = m->get<monitor_signal>()) {
    p->extension().monitored_by.emplace(mon->ref.id, mon->from);
  } else if (auto* d = m->get<demonitor_signal>()) {
    p->extension().monitored_by.erase(d->ref.id);
  }
  return nullptr;
}

/// Between handlers: ends a process whose heap passed max_heap_bytes, collects when the heap is
/// due or the process asked to hibernate, and refreshes the behaviour's state report.
void scheduler::tend(process* p) {
  process_ext& x = *p->ext;
  if (x.heap && x.heap->passed_max()) {
    p->set_exit("max_heap");
    p->crashed = true;  // logged here, with the figures
    node_.log(fmt::format("process {}{} killed: its heap needed more than max_heap_bytes ({} bytes)",
                          p->id(), name_suffix(node_, p), x.max_heap_bytes));
    return;
  }
  if (x.hibernate) {
    x.hibernate = false;
    collect(p, gc_kind::hibernate);
  } else if (x.heap && x.heap->wants_gc()) {
    collect(p, gc_kind::automatic);
  }
  if (x.state_bytes) p->memory.state_bytes.store(x.state_bytes(*p->code), std::memory_order_relaxed);
}

/// A collection. Automatic: a minor run (release empty chunks), then a major one if that did not
/// bring the heap under its target. Requested and hibernate: a major run, releasing every empty
/// chunk. A major run with a gc hook moves the live state into a fresh heap and frees the old one.
void scheduler::collect(process* p, gc_kind kind) {
  process_ext& x = p->extension();
  const auto status = p->status.load(std::memory_order_relaxed);
  p->set_status(process_status::garbage_collecting);
  auto& stats = p->memory;
  const std::size_t before = x.heap ? x.heap->size() : 0;
  bool major = kind != gc_kind::automatic;
  if (!major) {
    x.heap->sweep(true);
    stats.minor_gcs.store(stats.minor_gcs.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    minor_gcs_.add();
    major = x.heap->wants_gc() && x.gc;
  }
  if (major) {
    if (x.heap && x.gc) {
      std::size_t max = x.max_heap_bytes;  // stranded heaps count against it
      for (auto& h : x.stranded)
        if (max) max = max > h->size() ? max - h->size() : 1;
      auto fresh = std::make_unique<agner::heap>(max, heap_meters{&stats.heap_bytes, &node_.heap_bytes});
      try {
        x.gc(*p->code, *fresh);
      } catch (const std::exception& e) {
        p->set_exit(fmt::format("gc hook failed: {}", e.what()));
      }
      if (x.heap->live() != 0) {
        node_.log(fmt::format("process {}{}: its gc hook left {} live bytes in the old heap; they stay there",
                              p->id(), name_suffix(node_, p), x.heap->live()));
        x.stranded.push_back(std::move(x.heap));
      }
      x.heap = std::move(fresh);
    }
    if (x.heap) x.heap->sweep(kind == gc_kind::automatic);
    stats.major_gcs.store(stats.major_gcs.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    major_gcs_.add();
  }
  if (x.heap) {
    x.heap->retarget();
    const std::size_t after = x.heap->size();
    const std::size_t reclaimed = before > after ? before - after : 0;
    stats.gc_reclaimed.store(stats.gc_reclaimed.load(std::memory_order_relaxed) + reclaimed,
                             std::memory_order_relaxed);
    gc_reclaimed_.add(reclaimed);
  }
  p->set_status(status);
}

/// What the process says about itself, for runtime::inspect.
process_report scheduler::report(process* p, const inspect_options& opts) {
  process_report r;
  r.behaviour = demangle(typeid(*p->code).name());
  r.suspended = p->suspended();
  if (process_ext* x = p->ext.get()) {
    r.links = x->links;
    for (auto& [ref, target] : x->monitoring) r.monitors.push_back(target);
    for (auto& [ref, watcher] : x->monitored_by) r.monitored_by.push_back(watcher);
    std::sort(r.monitored_by.begin(), r.monitored_by.end());
    r.parent = x->parent;
    r.trap_exit = x->trap_exit;
    r.unhandled_messages = x->unhandled;
    if (x->describe) {
      try {
        r.state = x->describe(*p->code);
      } catch (const std::exception& e) {
        r.state = fmt::format("(describe failed: {})", e.what());
      }
    }
  }
  p->for_each_queued([&](const message& m) {
    if (r.queue.size() >= opts.max_messages || r.queue_listed_bytes >= opts.max_bytes) return false;
    queued_message q{m.type_name(), m.bytes(), {}};
    if (opts.contents) {
      q.text = m.format();
      const std::size_t room = opts.max_bytes - r.queue_listed_bytes;
      if (q.text.size() > room) q.text.resize(room);
      r.queue_listed_bytes += q.text.size();
    }
    r.queue.push_back(std::move(q));
    return true;
  });
  return r;
}

void scheduler::terminate(process* p, bool unlock_consumer) {
  p->set_status(process_status::exiting);
  if (node_.watch.on()) node_.watch.on_owner(p, now_ms_, true);
  const pid self = p->id();
  const std::string reason = p->extension().exit_reason;
  if (!p->crashed && reason != "normal" && reason != "shutdown")  // crashes were logged already
    node_.log(fmt::format("process {}{} exited: {}", self, name_suffix(node_, p), reason));
  node_.exits.record(self, reason);
  if (p->watch_flags() & mailbox::watch_traced) [[unlikely]] node_.trace_ended(p, self, reason);
  if (p->registered) node_.names.remove(p->index);
  // What was still queued is a dead letter; a link or monitor that arrived too late learns the
  // process is gone, as if it had been dead all along.
  std::uint64_t dropped = 0;
  message* rest = p->close();
  if (unlock_consumer) p->unlock_consumer();
  for (message* m = rest; m;) {
    message* next = m->next;
    if (auto* l = m->get<link_signal>()) {
      node_.send_value(l->from, exit_signal{self, "noproc", true}, this);
    } else if (auto* mon = m->get<monitor_signal>()) {
      node_.send_value(mon->from, down_signal{mon->ref, self, "noproc"}, this);
    }
    destroy(m);
    ++dropped;
    m = next;
  }
  dead_letters_.add(dropped);
  process_ext& x = *p->ext;
  if (x.await) {  // ended while awaiting a call: the frame goes, and the callee's monitor
    if (x.await->slot && !x.await->slot->arrived)
      node_.send_value(x.await->slot->callee, demonitor_signal{x.await->slot->mon}, this);
    x.await->set_scheduler(this);  // the frame's destructors may use its context
    x.await->drop();
  }
  // Its ports first: the close is posted to the I/O thread before any link or monitor learns of the
  // exit, so a supervisor's restart that listens again finds it queued ahead (io_service::listen).
  if (x.owns_ports) node_.io->owner_died(self);
  for (pid linked : x.links) node_.send_value(linked, exit_signal{self, reason, true}, this);
  for (auto& [ref, watcher] : x.monitored_by) node_.send_value(watcher, down_signal{{ref}, self, reason}, this);
  for (auto& [ref, target] : x.monitoring) node_.send_value(target, demonitor_signal{ref}, this);
  for (auto& e : x.pending)
    if (e.callee) node_.send_value(e.callee, demonitor_signal{monitor_ref{e.ref}}, this);
  if (x.request_timer) node_.timers->cancel(x.request_timer);
  delete p->code;
  p->code = nullptr;
  p->ext.reset();
  p->crashed = false;
  p->stop = 0;
  node_.table.release(p);
}

}  // namespace agner::detail
