#pragma once
/// Everything a runtime owns, shared by its schedulers. Private to the runtime module.
#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "agner/runtime/runtime.hpp"
#include "deliver.hpp"
#include "io_service.hpp"
#include "process_table.hpp"
#include "queue_watch.hpp"
#include "recent_exits.hpp"
#include "registry.hpp"
#include "run_queue.hpp"
#include "scheduler.hpp"
#include "shed_points.hpp"
#include "timer_service.hpp"
#include "trace_registry.hpp"

namespace agner::detail {

/// Counters of threads that are not schedulers, striped so unrelated threads rarely share a line.
struct alignas(64) outside_counters {
  std::atomic<std::uint64_t> sent{0};
  std::atomic<std::uint64_t> dead_letters{0};
  std::atomic<std::uint64_t> dropped_rejected{0};
  std::atomic<std::uint64_t> dropped_newest{0};
  std::atomic<std::uint64_t> dropped_oldest{0};  ///< trimmed by a sender (a drop_oldest mailbox past its bound)
};

/// What the schedulers share. Its parts own their locks: `names` (the registry), `gates` (the shed
/// points), `watch` (the queue watch); the send path is below (cold half in send_path.cpp). The
/// timer and I/O services see only its deliver_hook.
struct node_state : deliver_hook {
  node_state(runtime& rt, runtime_options opts);

  runtime& rt;
  runtime_options options;  ///< checked; options.clock set (steady_clock unless given)
  const clock::time_point started;  ///< on options.clock: the runtime's birth (runtime::uptime)
  process_table table;
  global_run_queue global;
  std::vector<std::unique_ptr<scheduler>> schedulers;
  std::atomic<bool> stopping{false};
  // options.slice_reductions, until runtime::stop makes every slice one reduction long so that each
  // scheduler sees the stop after its current handler (a slice end checks it; the hot path pays
  // nothing, it loaded the option anyway).
  std::atomic<std::uint32_t> slice_reductions{options.slice_reductions};
  std::mutex stop_mutex;  // runtime::stop, once
  bool stopped = false;   // under stop_mutex
  std::atomic<unsigned> spinning{0};  // schedulers looking for work (or woken to)
  std::atomic<unsigned> sleeping{0};  // schedulers parked
  std::array<outside_counters, 16> outside;
  recent_exits exits;  // why the last processes ended (runtime::exit_reason)
  registry names;
  shed_points gates;
  queue_watch watch;

  std::unique_ptr<timer_service> timers;  // started after the schedulers, stopped after them
  std::unique_ptr<io_service> io;         // likewise
  std::atomic<std::uint64_t> next_ref{1};  // monitor and request references
  std::atomic<std::int64_t> heap_bytes{0};  // held by all process heaps

  /// Sends `m` to `to` from `local` (the caller's scheduler, or nullptr for other threads).
  send_outcome send(pid to, message* m, scheduler* local) {
    if (local) {
      local->count_sent();
    } else {
      outside_stripe().sent.fetch_add(1, std::memory_order_relaxed);
    }
    process* p = to ? table.slot(to.index) : nullptr;
    if (!p || p->serial() != to.serial) return dead_letter(m, local);
    m->target_serial = to.serial;
    const std::uint32_t sent_ms = local ? local->now_ms() : coarse_ms();
    m->sent_ms = sent_ms;
    const auto pushed = p->push(m);
    if (pushed == mailbox::push_result::queued) [[likely]] {
      if (watch.on()) [[unlikely]]
        watch.on_send(p, to, sent_ms, false);
      return send_outcome::queued;
    }
    if (pushed == mailbox::push_result::woke_owner) {
      if (watch.on()) [[unlikely]]
        watch.on_send(p, to, sent_ms, true);
      p->note_oldest(sent_ms);  // the owner cannot run before schedule()
      schedule(p, local);
      return send_outcome::queued;
    }
    return send_otherwise(pushed, p, to, m, sent_ms, local);
  }
  // Message tracing (trace.cpp): the traced path of send, context::send's, and a traced end.
  trace_registry traces;
  [[gnu::cold, gnu::noinline]] send_outcome send_traced(process* p, pid to, message* m, std::uint32_t sent_ms,
                                                        scheduler* local);
  [[gnu::cold, gnu::noinline]] void trace_sent(const process* from, pid to, const message* m);
  [[gnu::cold, gnu::noinline]] void trace_ended(process* p, pid who, std::string_view reason);
  /// The rarer push results: closed, full, past a drop_oldest bound, traced.
  [[gnu::cold]] send_outcome send_otherwise(mailbox::push_result pushed, process* p, pid to, message* m,
                                            std::uint32_t sent_ms, scheduler* local);
  [[gnu::cold]] send_outcome dead_letter(message* m, scheduler* local);
  [[gnu::cold]] send_outcome refused(process* p, message* m, scheduler* local);
  /// A drop_oldest mailbox past its bound: drops its oldest messages from the sender's side.
  void trim(process* p, std::uint32_t serial, scheduler* local);
  template <class T>
  send_outcome send_value(pid to, T&& value, scheduler* local) {
    return send(to, make_message<std::decay_t<T>>(std::forward<T>(value)), local);
  }
  /// deliver_hook: the timer and I/O threads send as outsiders.
  send_outcome deliver(pid to, message* m) override { return send(to, m, nullptr); }
  bool alive(pid to) const noexcept override {
    const process* p = to ? table.slot(to.index) : nullptr;
    return p && p->serial() == to.serial;
  }
  /// Makes an idle process runnable.
  void schedule(process* p, scheduler* local);
  /// Called after work was queued: wakes a parked scheduler if nobody is looking for work.
  void notify_work() noexcept;
  void log(std::string_view line) const;
  outside_counters& outside_stripe() noexcept;

 protected:
  ~node_state() = default;  // runtime::impl is the one complete type
};

std::uint64_t now_ns() noexcept;

/// Orders this thread's earlier stores before its later loads, as the park/wake handshake needs
/// (a pusher stores work then reads `sleeping`; a parker bumps `sleeping` then reads the queues).
/// A fence normally; TSan does not model fences, so under TSan an RMW on `sleeping` gives the same
/// guarantee (an RMW reads the latest value) in a form it can check.
inline void store_load_barrier([[maybe_unused]] std::atomic<unsigned>& sleeping) noexcept {
#if defined(__SANITIZE_THREAD__)
  sleeping.fetch_add(0, std::memory_order_seq_cst);
#else
  std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

}  // namespace agner::detail

/// The runtime's hidden state is the node state.
struct agner::runtime::impl final : agner::detail::node_state {
  using node_state::node_state;
};

/// The runtime's own free functions (start_trace and the like) reach its state through this.
struct agner::detail::runtime_access {
  static agner::runtime::impl& of(agner::runtime& rt) noexcept { return rt.internals(); }
};
