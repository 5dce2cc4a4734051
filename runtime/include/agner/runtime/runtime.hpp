#pragma once
/// The runtime: a process table, schedulers with work stealing, and the counters that describe them.
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "agner/snapshot/admission.hpp"
#include "agner/runtime/behaviour.hpp"
#include "agner/runtime/clock.hpp"
#include "agner/snapshot/counters.hpp"
#include "agner/runtime/message.hpp"
#include "agner/snapshot/pid.hpp"

namespace agner {

struct runtime_options {
  /// Scheduler threads; 0 means one per core.
  unsigned schedulers = 0;
  /// Most processes alive at once (Erlang's +P). Spawning past it throws spawn_error(system_limit).
  std::uint32_t process_limit = 4'194'304;
  /// Reductions a scheduler runs before it rotates to the next runnable process.
  std::uint32_t slice_reductions = 2000;
  /// How long an idle scheduler spins and yields looking for work before it parks. Waking a parked
  /// thread on another core costs ~29 us on KVM guests, so a short spin saves a lot under load.
  std::chrono::microseconds spin_before_park{60};
  /// Threads that run context::run_blocking work.
  unsigned blocking_threads = 2;
  /// Time for timers and supervisors; default: steady_clock. Tests pass a manual_clock.
  std::shared_ptr<agner::clock> clock;
  /// Where crash reports and other log lines go; default: one line each to stderr.
  std::function<void(std::string_view)> log;
};

/// A process crossing a queue-watch threshold (runtime::watch_queues).
struct queue_event {
  enum class kind { long_queue, short_again, old_message, young_again };
  pid who;
  kind what;
  std::uint64_t value = 0;  ///< the queue length, or the oldest message's age in ms
};

/// Names one timer; returned by runtime::send_after. Plain value: a slot and a generation, so a
/// reference to a timer that fired or was cancelled never designates a later one.
struct timer_ref {
  std::uint64_t id = 0;
};

/// What a bounded mailbox does with a message that finds it full. Signals (links, monitors,
/// replies) are never refused.
enum class mailbox_overflow {
  reject,       ///< the sender's send returns false
  drop_newest,  ///< the new message is dropped; the sender is not told
  drop_oldest,  ///< the new message is queued and the oldest ordinary message is dropped, by the
                ///< sender if the owner is not running (suspended, or inside a long handler)
};

struct spawn_options {
  /// Registers the process under this name (released when it dies); empty for none.
  std::string name{};
  /// Bounds the mailbox at this many messages; 0 for unbounded. Concurrent senders may pass the
  /// check together, so the length can exceed it by their number, briefly.
  std::uint32_t max_len = 0;
  mailbox_overflow overflow = mailbox_overflow::reject;
  /// Bounds the process heap (context::heap) at this many bytes; 0 for unbounded. An allocation
  /// that would pass it throws max_heap_error and the process ends with reason "max_heap", logged
  /// (Erlang's max_heap_size with kill => true). Queued messages are not counted: bound them with
  /// max_len.
  std::size_t max_heap_bytes = 0;
  /// Priority class for the spawn gate (runtime::gate_spawns); -1: the gate's default class.
  int priority = -1;
};

/// Thrown by spawn when the process cannot be created.
class spawn_error : public std::runtime_error {
 public:
  enum class reason { system_limit, name_taken, overloaded, stopped };
  spawn_error(reason r, const std::string& what, pid holder = {}) : std::runtime_error(what), reason_(r), holder_(holder) {}
  reason why() const noexcept { return reason_; }
  /// For name_taken: the process that held the name when the spawn tried it (it may have ended
  /// since); otherwise the default pid.
  pid holder() const noexcept { return holder_; }

 private:
  reason reason_;
  pid holder_;
};

class runtime {
 public:
  /// Starts the schedulers. Throws std::invalid_argument naming the bad option.
  explicit runtime(runtime_options options = {});
  /// stop(), if it has not been called. Must not be called from a scheduler thread.
  ~runtime();

  /// Stops the runtime, bounded whatever the workload: each scheduler stops at its next slice end
  /// (a handler running then finishes first, then at most the rest of its slice; nothing else is
  /// drained), the timer and I/O threads
  /// stop (blocking jobs not yet started are abandoned; running ones finish), and every process
  /// still alive is destroyed without running its handlers (supervisors do not shut their
  /// children down in order; stop a supervisor first for that). Every queued message and every
  /// later send counts as a dead letter, so the accounting identity holds after it. Counters stay
  /// readable. Idempotent; thread-safe, but not from a handler (throws std::logic_error). Cost:
  /// one pass over the process table plus freeing what it holds (see `agner-bench stop`). Later
  /// spawns throw spawn_error (reason stopped). Returns what it discarded; a second call returns
  /// zeros.
  struct stop_summary {
    std::uint32_t processes = 0;        ///< processes alive when it began, ended without running
    std::uint64_t dead_letters = 0;     ///< queued messages discarded (counted as dead letters)
    std::chrono::milliseconds took{0};  ///< wall time of the whole stop
  };
  stop_summary stop();
  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  /// Creates a process running `B(args...)`. Thread-safe. The behaviour is constructed on the calling
  /// thread; its init (if it has one) and handlers run on schedulers. Throws spawn_error.
  template <class B, class... A>
  pid spawn(A&&... args) {
    return spawn_with<B>(spawn_options{}, std::forward<A>(args)...);
  }
  template <class B, class... A>
  pid spawn_with(const spawn_options& opts, A&&... args) {
    return spawn_behaviour(std::make_unique<B>(std::forward<A>(args)...), opts,
                           detail::hooks_of<B>(), nullptr, pid{});
  }
  /// Spawns a process whose handler is `f(context&, message&)`.
  template <class F>
  pid spawn_fn(F f, const spawn_options& opts = {}) {
    return spawn_with<fn_behaviour<F>>(opts, std::move(f));
  }

  /// Sends from any thread (inside a handler, prefer context::send). Never blocks; a dead pid makes
  /// a dead letter. FIFO per sender-receiver pair. False only when a bounded mailbox with policy
  /// reject refused the message.
  template <class T>
  bool send(pid to, T&& value) {
    return send_message(to, make_message<std::decay_t<T>>(std::forward<T>(value)));
  }
  /// Sends to a registered name; false when no process has that name (nothing is sent) or its
  /// bounded mailbox rejected the message.
  template <class T>
  bool send(std::string_view name, T&& value) {
    auto to = whereis_admitted(name);
    if (!to) return false;
    return send(*to, std::forward<T>(value));
  }

  // --- shed points (docs/alarms.md): the runtime asks an admission before taking work in ---------

  /// Every spawn asks `gate` (class: spawn_options::priority, else `default_class`) and throws
  /// spawn_error(overloaded, "cannot spawn: overloaded (valve NAME), retry later") when refused.
  /// nullptr removes the gate. Set it before spawning from several threads.
  void gate_spawns(admission* gate, std::size_t default_class);
  /// Sends by name to `name` (runtime::send(name, ...), context::send(name, ...)) ask `gate` with
  /// class `cls`; a refused one is counted as shed and the send returns false. nullptr removes it.
  /// Thread-safe.
  void gate_sends(const std::string& name, admission* gate, std::size_t cls);
  /// whereis, unless `name` is gated and its gate refuses (then counted as sent and shed).
  std::optional<pid> whereis_admitted(std::string_view name);
  /// Takes ownership of `m`.
  bool send_message(pid to, message* m);

  /// Sends an exit signal to `to` from outside any process (an operator's kill): "kill" cannot be
  /// trapped; other reasons behave as context::send_exit. Thread-safe.
  void exit(pid to, std::string reason);

  /// Suspends `to` (Erlang's suspend_process): it handles no message until resumed; messages queue
  /// up, and signals still act (a kill ends it, an inspect is answered). Asynchronous; false if `to`
  /// is not alive. Thread-safe.
  bool suspend(pid to);
  bool resume(pid to);
  /// Asks `to` for a process_report. `done` runs on a scheduler thread (it must not block) when `to`
  /// answers, between two of its handlers; it never runs if `to` dies first, and not until its
  /// current handler returns: callers wait with a deadline. False if `to` is not alive. Thread-safe.
  bool inspect(pid to, inspect_options options, std::function<void(process_report)> done);

  /// Watches message queues the way Erlang's system_monitor watches long_message_queue, for
  /// per-process alarms: `notify` runs when a process's queue reaches `long_len` messages (or its
  /// oldest message is `old_ms` old), checked by the sender as it queues a message, and again when
  /// the owner finds it back at `short_len` (or `young_ms`) at a slice end, when it goes idle or
  /// when it ends. Never a scan. `notify` runs on scheduler and sender threads: keep it short and
  /// thread-safe. Set `notify` before any threshold (set_queue_watch throws std::logic_error
  /// otherwise); watch_queues throws std::logic_error while a threshold is set, since senders may be
  /// inside the old `notify`. 0 turns a check off. Thread-safe.
  void watch_queues(std::function<void(const queue_event&)> notify);
  void set_queue_watch(std::uint32_t long_len, std::uint32_t short_len, std::uint32_t old_ms, std::uint32_t young_ms);

  /// Asks `to` to collect its heap (a major run) between two of its handlers. Asynchronous; false
  /// if `to` is not alive. Thread-safe.
  bool garbage_collect(pid to);

  /// Sends `value` to `to` once `delay` has passed on the runtime's clock (never earlier; at
  /// millisecond resolution; from 100 ms on, up to the coarse clock's few ms later). Dropped if `to`
  /// has died by then. Thread-safe. Cost: about a send's (no lock, no system call from a handler;
  /// a mutex shared by the threads that are not schedulers). Throws std::length_error past
  /// 16,777,216 pending timers.
  template <class T>
  timer_ref send_after(clock::duration delay, pid to, T&& value) {
    return start_timer(delay, to, make_message<std::decay_t<T>>(std::forward<T>(value)));
  }
  /// True if the timer was pending and now never fires (its message is destroyed here); false if
  /// it fired, was cancelled or never existed. Thread-safe, lock-free: one compare-and-swap.
  bool cancel_timer(timer_ref ref);
  /// The runtime's clock. Thread-safe.
  clock::time_point now() const;
  /// Time since this runtime was made, on its clock (a manual_clock's advances in tests): the node's
  /// uptime, which introspection, /metrics (agner_uptime_seconds) and etop show. Thread-safe; O(1).
  clock::duration uptime() const;

  /// A blocking request from a plain thread: sends `request<T>` to `to` and waits for the answer,
  /// the timeout (on the runtime's clock; agner::infinity waits for ever) or noproc (`to` dead, or
  /// ended before answering). Throws std::logic_error on a scheduler thread.
  template <class T>
  reply call(pid to, T body, clock::duration timeout);

  /// Writes one line to the runtime's log (runtime_options::log). Thread-safe.
  void log(std::string_view line) const;

  /// The pid registered under `name`. Thread-safe; takes the registry's read lock.
  std::optional<pid> whereis(std::string_view name) const;
  /// Every registered name with its pid (Erlang's registered/0). Thread-safe; copies the registry
  /// under its read lock: O(registered names).
  std::vector<std::pair<std::string, pid>> registered() const;
  /// Calls `visit(name, pid)` once for every registered name, on the calling thread, under the
  /// registry's read lock and without copying: `name` is valid only during that call. `visit` must
  /// not spawn, register or look up a name (it would wait on the lock it holds) and should be short:
  /// spawns and exits of named processes wait meanwhile. Thread-safe. Cost: O(registered names), one
  /// hash node read each (about 0.1 ms for 10,000 names), no allocation; the cheap way to join the
  /// names with a scan.
  void visit_registered(const std::function<void(std::string_view name, pid id)>& visit) const;

  // --- counters: thread-safe, lock-free, never stop a scheduler ---------------------------------

  /// Processes alive now. O(1).
  std::uint32_t process_count() const noexcept;
  std::uint32_t process_limit() const noexcept;
  /// One process's counters, or nullopt if `p` is not alive. O(1) plus a registry lookup for the name.
  std::optional<process_counters> process_info(pid p) const;
  /// Why `p` ended ("normal", "killed", a crash's "exception: ..." ...), if it is among the last
  /// 1,024 processes to end (reasons cut at 256 bytes); nullopt while it lives, or once forgotten.
  /// Thread-safe; O(1,024) under a mutex that only process exits also take.
  std::optional<std::string> exit_reason(pid p) const;
  /// Calls `visit` once for each live process, in increasing slot index (pid.index) order, on the
  /// calling thread. Cost: reads two cache lines
  /// of every slot ever used (about 1M slots in a few ms), takes no lock and never stops a
  /// scheduler, so it sees each process at a slightly different moment; a process that starts or
  /// ends during the scan may be missed or seen.
  void scan(const std::function<void(const process_sample&)>& visit) const;
  /// Sums per-scheduler and per-thread counters: O(schedulers), touches no process.
  message_counters messages() const noexcept;
  /// One row per scheduler: O(schedulers).
  std::vector<scheduler_counters> schedulers() const;
  unsigned scheduler_count() const noexcept;
  /// Collections and heap bytes: O(schedulers).
  gc_counters gc() const noexcept;
  /// Ports open and bytes moved. O(1).
  port_counters ports() const noexcept;
  /// Runnable processes waiting in the global queue (sent to from outside the schedulers). O(1).
  std::uint64_t global_run_queue_length() const noexcept;

  struct impl;  ///< the node's state (runtime/src/node_state.hpp); opaque outside the runtime

 private:
  // context and scoped_process reach the node's state through internals(), and the runtime's own
  // free functions (trace.cpp) through detail::runtime_access (node_state.hpp); nothing else does.
  friend class context;
  friend class scoped_process;
  friend struct detail::runtime_access;
  impl& internals() noexcept { return *impl_; }
  void check_not_on_scheduler(const char* what) const;
  timer_ref start_timer(clock::duration delay, pid to, message* m);
  pid spawn_behaviour(std::unique_ptr<behaviour> b, const spawn_options& opts, detail::hooks hooks,
                      detail::scheduler* local, pid link_to);
  std::unique_ptr<impl> impl_;
};

template <class B, class... A>
pid context::spawn(A&&... args) {
  return spawn_with<B>(spawn_options{}, std::forward<A>(args)...);
}

template <class B, class... A>
pid context::spawn_with(const spawn_options& opts, A&&... args) {
  return rt_->spawn_behaviour(std::make_unique<B>(std::forward<A>(args)...), opts, detail::hooks_of<B>(),
                              sched_, pid{});
}

namespace detail {
/// The short-lived process behind runtime::call.
template <class T>
class caller final : public behaviour {
 public:
  caller(pid to, T body, clock::duration timeout, std::promise<reply>& answer)
      : to_(to), body_(std::move(body)), timeout_(timeout), answer_(answer) {}
  void init(context& ctx) {
    ctx.request(to_, std::move(body_), timeout_, [this](context& c, reply& r) {
      answer_.set_value(std::move(r));
      c.exit();
    });
  }
  void handle(context&, message&) override {}

 private:
  pid to_;
  T body_;
  clock::duration timeout_;
  std::promise<reply>& answer_;
};
}  // namespace detail

template <class T>
reply runtime::call(pid to, T body, clock::duration timeout) {
  check_not_on_scheduler("runtime::call");
  std::promise<reply> answer;
  auto result = answer.get_future();
  spawn<detail::caller<T>>(to, std::move(body), timeout, answer);
  return result.get();
}

template <class B, class... A>
pid context::spawn_link(A&&... args) {
  return spawn_link_with<B>(spawn_options{}, std::forward<A>(args)...);
}

template <class B, class... A>
pid context::spawn_link_with(const spawn_options& opts, A&&... args) {
  pid child = rt_->spawn_behaviour(std::make_unique<B>(std::forward<A>(args)...), opts, detail::hooks_of<B>(),
                                   sched_, self());
  note_link(child);
  return child;
}

}  // namespace agner
