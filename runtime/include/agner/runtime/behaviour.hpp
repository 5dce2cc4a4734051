#pragma once
/// What a process runs: a user class with a message handler, and the context it is handed.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "agner/runtime/binary.hpp"
#include "agner/runtime/heap.hpp"
#include "agner/runtime/message.hpp"
#include "agner/snapshot/pid.hpp"
#include "agner/runtime/ports.hpp"
#include "agner/runtime/request.hpp"
#include "agner/runtime/signals.hpp"
#include "agner/runtime/task.hpp"

namespace agner {

class runtime;
class context;
struct spawn_options;
namespace detail {
struct process;
class scheduler;
struct await_state;
struct task_runner;
struct runtime_access;
}  // namespace detail

/// A process's code and state. The runtime calls `handle` for each message in arrival order, on one
/// scheduler thread at a time; the object is never touched by two threads at once, so it needs no
/// locks. A handler must not block (no sleeps, no waiting on other processes): it holds a scheduler.
/// An exception escaping `handle` (or `init`) crashes this process only; it is logged with the pid,
/// the registered name and the exception's text.
///
/// Optional members, found at compile time by `spawn` (not virtual):
/// - `void init(context&)` runs on a scheduler before any message is handled;
/// - `void gc(agner::heap& fresh)` makes major collections compact: it moves every member that lives
///   in the process heap into `fresh` (with `fresh.move_in(member)`), and the old heap is released;
/// - `std::size_t state_bytes() const` reports memory the state holds outside the heap; it is added
///   to the process's memory figure, refreshed whenever the process goes idle;
/// - `std::string describe() const` describes its state for an operator (process_info), as OTP's
///   format_status: say what helps, leave out secrets.
class behaviour {
 public:
  virtual ~behaviour() = default;
  virtual void handle(context& ctx, message& msg) = 0;
};

/// A process's view of the runtime while its handler runs. Only valid inside `handle`/`init`, and
/// only on the thread that called them.
class context {
 public:
  pid self() const noexcept;
  runtime& node() const noexcept { return *rt_; }

  /// Sends `value` to `to`. Never blocks. A send to a dead process is counted as a dead letter (and
  /// returns true, as in Erlang); false only when a bounded mailbox with policy reject refused it.
  /// Messages from one sender to one receiver arrive in the order sent.
  template <class T>
  bool send(pid to, T&& value) {
    return send_message(to, make_message<std::decay_t<T>>(std::forward<T>(value)));
  }
  bool send_message(pid to, message* m);
  /// Sends to a registered name; false when nobody has that name, a bounded mailbox rejected it,
  /// or the name's shed point refused it (runtime::gate_sends: overloaded, retry later).
  template <class T>
  bool send(std::string_view name, T&& value) {
    auto to = whereis_admitted(name);
    return to && send(*to, std::forward<T>(value));
  }

  /// Spawns a process (see runtime::spawn); its init, if any, runs on this scheduler soon after.
  template <class B, class... A>
  pid spawn(A&&... args);
  /// The same with options (a registered name, a bounded mailbox).
  template <class B, class... A>
  pid spawn_with(const spawn_options& opts, A&&... args);
  /// Spawns a process linked to this one, atomically: if it dies at once, this one still gets
  /// its exit signal with the real reason.
  template <class B, class... A>
  pid spawn_link(A&&... args);
  /// The same with options (a registered name, a bounded mailbox, max_heap_bytes).
  template <class B, class... A>
  pid spawn_link_with(const spawn_options& opts, A&&... args);

  /// Links this process to `other`: when either ends, the other gets an exit signal with the reason.
  /// A process that does not trap exits dies with any reason but "normal"; one that traps gets an
  /// exit_message. Linking to a dead process delivers an exit signal with reason "noproc".
  void link(pid other);
  /// Removes a link; no exit signal from it arrives after this returns.
  void unlink(pid other);
  /// Turns exit signals from links into exit_message messages ("kill" still kills).
  void trap_exit(bool on);
  /// Sends an exit signal to `to` (Erlang's exit/2). "kill" cannot be trapped and ends `to` with
  /// reason "killed"; "normal" is ignored by a process that does not trap exits.
  void send_exit(pid to, std::string reason);
  /// Monitors `other`: exactly one down_message follows when it ends (at once, with "noproc", if it
  /// is already dead), unless demonitor is called first.
  monitor_ref monitor(pid other);
  /// Cancels a monitor; its down_message will not be delivered, even if already on the way.
  void demonitor(monitor_ref ref);

  /// Sends `request<T>{reply_to, body}` to `to`, monitoring it, and returns at once. Exactly one of
  /// these follows, as a call of `on_reply(context&, reply&)` on this process: the answer, a
  /// timeout after `timeout`, or noproc if `to` was dead or ends before answering (then
  /// `get<std::string>()` holds its exit reason: "noproc" if it was dead already, "refused" if its
  /// bounded mailbox or a valve refused the request), as
  /// gen_server:call's monitor gives. An answer after the timeout is dropped and counted as a late
  /// reply; it never reaches unrelated code. `timeout` may be agner::infinity (no timer).
  /// Cost: four envelopes (request, answer, the monitor and its cancel, which `to` takes as
  /// signals) and, only when an earlier deadline is needed, one timer start; no lock, no system call.
  template <class T, class F>
  void request(pid to, T&& body, std::chrono::nanoseconds timeout, F&& on_reply) {
    using R = agner::request<std::decay_t<T>>;
    const std::uint64_t ref = new_ref();
    // The timeout starts before the request leaves, so it runs by the time anyone sees the request.
    await_reply(ref, timeout, std::function<void(context&, agner::reply&)>(std::forward<F>(on_reply)));
    send_request(to, ref, make_message<R>(R{reply_to{self(), ref}, std::forward<T>(body)}));
  }
  /// gen_server:call for a coroutine handler (one returning agner::task, see async_behaviour):
  /// `co_await ctx.call(to, body, timeout)` sends `request<T>{reply_to, body}` to `to`, monitors
  /// it, and handles nothing else until the answer, the timeout or `to`'s end: every other message
  /// stays queued, in order, for after the handler (exit signals still act: "kill" ends the caller
  /// at once). Meanwhile the caller's status is `waiting`. When T declares `using reply_type = R;`
  /// the co_await yields the answer as an R, and throws agner::call_error ("call to <0.4.0> timed
  /// out after 100 ms", "... noproc", "... the callee exited before answering: REASON") when none
  /// came, or agner::bad_reply_type when the answer is not an R; uncaught, either crashes the
  /// caller as gen_server:call does. Without reply_type it yields the agner::reply (ok, timeout or
  /// noproc, the latter also when `to` ends before answering) and never throws. An answer after
  /// the timeout is dropped and counted as a late reply. `timeout` may be agner::infinity. Calling
  /// oneself throws std::logic_error (it would never be answered). Cost: the request, its answer,
  /// a monitor and a demonitor (four envelopes); the shared request timer (no timer operation for
  /// a call answered before an earlier deadline). Only inside a task, on this process's context.
  template <class T>
  [[nodiscard]] detail::call_awaiter<reply_type_t<std::decay_t<T>>> call(pid to, T&& body,
                                                                         std::chrono::nanoseconds timeout) {
    using R = agner::request<std::decay_t<T>>;
    const std::uint64_t ref = new_ref();
    return detail::call_awaiter<reply_type_t<std::decay_t<T>>>(
        *this, to, make_message<R>(R{reply_to{self(), ref}, std::forward<T>(body)}), ref, timeout);
  }

  /// Answers a request.
  template <class T>
  void reply(const reply_to& to, T&& value) {
    send_reply(to, make_message<std::decay_t<T>>(std::forward<T>(value)));
  }
  /// Answers `req`. When its body declares `using reply_type = R;` the answer is sent as an R, and
  /// a value that cannot become one is a compile error naming R; otherwise as reply(req.from, value).
  template <class B, class T>
  void reply(const agner::request<B>& req, T&& value) {
    using R = reply_type_t<B>;
    if constexpr (std::is_void_v<R>) {
      reply(req.from, std::forward<T>(value));
    } else {
      static_assert(std::is_convertible_v<T&&, R>, "this answer is not the request's declared reply_type");
      send_reply(req.from, make_message<R>(R(std::forward<T>(value))));
    }
  }

  /// Runs `work()` (which may block: file or database I/O, DNS, heavy computation) on the
  /// runtime's blocking pool, never on a scheduler, then calls `then(context&, reply&)` on this
  /// process with its result (reply::status::failed, with the exception's text as a std::string,
  /// if it threw).
  template <class F, class K>
  void run_blocking(F work, K then) {
    const std::uint64_t ref = new_ref();
    await_reply(ref, agner::infinity, std::function<void(context&, agner::reply&)>(std::move(then)));
    post_blocking(ref, [w = std::move(work)]() mutable -> message* {
      return make_message<std::decay_t<decltype(w())>>(w());
    });
  }

  // --- ports: TCP owned by this process; events arrive as messages (see ports.hpp) ---------------

  /// Listens on address:port (port 0 picks a free one) with an accept queue of `backlog`
  /// connections (0: the system's maximum, SOMAXCONN, which also caps any larger value). Returns
  /// the listener and the bound port. Throws std::system_error naming the address when it cannot
  /// listen. A listener restarted on the port its dead predecessor held gets it: the predecessor's
  /// ports are closed before its links learn of its exit, and a bind that finds the port in use
  /// waits (up to 1 s, once) for the I/O thread to finish closing them.
  std::pair<port_id, std::uint16_t> tcp_listen(const std::string& address, std::uint16_t port, int backlog = 0);
  /// Connects; tcp_connected or tcp_closed (with the reason) follows.
  void tcp_connect(const std::string& host, std::uint16_t port);
  /// Queues bytes for sending (see port_send_buffer_limit).
  void tcp_send(port_id socket, std::string bytes);
  /// Queues shared bytes for sending without copying them: the socket holds a reference until they
  /// are written, so one rendered payload can go to many sockets (fan-out). Same limit and order
  /// as the string overload (the two can be mixed). Cost: a reference-count increment.
  void tcp_send(port_id socket, binary bytes);
  /// Lets the socket deliver its next tcp_data.
  void activate(port_id socket);
  /// Closes a port this process owns; no tcp_closed follows. Bytes already queued with tcp_send
  /// are written first, then the socket sends its FIN and reads and discards what the peer still
  /// sends until the peer's FIN (a lingering close: unread input would make the kernel reset the
  /// connection and lose the goodbye), all for at most port_close_linger; then it is closed
  /// anyway. So a goodbye line sent just before reaches the peer, even one still sending. The port
  /// stops counting as this process's at once, and nothing more is delivered from it or queued on it.
  void close_port(port_id port);
  /// Hands a port to another process (Erlang's controlling_process); it gets port_given.
  void give_port(port_id port, pid new_owner);

  /// Ends this process once the current handler returns. "normal" and "shutdown" are quiet; any
  /// other reason is logged as an abnormal exit. Messages still queued become dead letters.
  void exit(std::string reason = "normal");

  /// This process's heap (created on first use): pass it to std::pmr containers so the state they
  /// hold is counted, collected and bounded by max_heap_bytes. See heap.hpp.
  agner::heap& heap();
  /// Collects the heap (a major run) and releases everything it can once the handler returns and
  /// the mailbox is empty, as Erlang's hibernate: for a process that will be idle a long time.
  void hibernate();

  /// Says that `m` matched no branch of the handler (Erlang's gen_server logs such a message):
  /// counts it in the process's unhandled_messages (process_report, runtime::inspect) and logs the first message of
  /// each type per process, with its pid, type and payload when formattable. Call it from the
  /// handler's last `else`. Cost: one counter increment; a short scan of the types seen so far.
  void unhandled(const message& m);

  /// Declares extra work done by this handler, in reductions (one is charged per message already).
  /// Heavy handlers use it so the scheduler's fairness budget reflects what they cost.
  void add_reductions(std::uint64_t n) noexcept;

 private:
  friend class detail::scheduler;
  friend struct detail::await_state;
  friend struct detail::task_runner;
  template <class R>
  friend class detail::call_awaiter;
  /// Starts a call for `co_await ctx.call`: false when its outcome is known at once (slot filled:
  /// the callee is dead, or refused the request), true when the process now awaits it.
  bool begin_call(pid to, message* request, std::chrono::nanoseconds timeout, detail::call_slot& slot);
  /// This process's context for coroutine handlers: one address for the process's life, so a
  /// suspended handler's `context&` stays valid when it resumes on another scheduler.
  context& coroutine_context();
  /// Runs a coroutine handler's task until it ends or awaits a call; in the latter case the
  /// process keeps the frame and `msg` until it resumes. Rethrows what the task threw.
  void start_task(message& msg, task t);
  std::optional<pid> whereis_admitted(std::string_view name);
  void note_link(pid child);
  std::uint64_t new_ref() noexcept;
  /// Registers a continuation for `ref`, with a timeout unless `timeout` is negative.
  void await_reply(std::uint64_t ref, std::chrono::nanoseconds timeout,
                   std::function<void(context&, agner::reply&)> on_reply);
  /// Sends `to` the request, then monitors it under `ref` (the request's own); if `to` is dead or
  /// refuses it (a full bounded mailbox), the continuation for `ref` gets noproc.
  void send_request(pid to, std::uint64_t ref, message* request);
  void send_reply(const reply_to& to, message* body);
  void post_blocking(std::uint64_t ref, std::function<message*()> work);
  context(runtime* rt, detail::process* p, detail::scheduler* s) : rt_(rt), proc_(p), sched_(s) {}
  runtime* rt_;
  detail::process* proc_;
  detail::scheduler* sched_;
};

namespace detail {
/// What `ctx.call(...)` returns; co_await it inside an agner::task (see context::call).
template <class R>
class call_awaiter {
 public:
  call_awaiter(context& ctx, pid to, message* request, std::uint64_t ref, std::chrono::nanoseconds timeout)
      : ctx_(ctx), to_(to), request_(request), timeout_(timeout) {
    slot_.ref = ref;
    slot_.timeout = timeout;
  }
  // Moved only before it is awaited (the compiler may move it into the coroutine frame).
  call_awaiter(call_awaiter&& o) noexcept
      : ctx_(o.ctx_), to_(o.to_), request_(std::exchange(o.request_, nullptr)), timeout_(o.timeout_),
        slot_(std::move(o.slot_)) {}
  call_awaiter& operator=(call_awaiter&&) = delete;
  ~call_awaiter() {
    if (request_) destroy(request_);  // never awaited
  }
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<>) { return ctx_.begin_call(to_, std::exchange(request_, nullptr), timeout_, slot_); }
  auto await_resume() {
    agner::reply r(slot_.status, std::move(slot_.body));
    if constexpr (std::is_void_v<R>) {
      return r;
    } else {
      if (!r.ok()) throw_call_error(slot_);
      return R(std::move(r.as<R>()));
    }
  }

 private:
  context& ctx_;
  pid to_;
  message* request_;
  std::chrono::nanoseconds timeout_;
  call_slot slot_;
};

/// Runs coroutine handlers (async_behaviour, spawn_fn with a lambda returning agner::task).
struct task_runner {
  template <class F>
  static void run(context& ctx, message& msg, F&& make_task) {
    context& stable = ctx.coroutine_context();
    ctx.start_task(msg, make_task(stable, msg));
  }
};
}  // namespace detail

/// A behaviour whose handler is a coroutine, so that it can `co_await ctx.call(...)`:
///
///     class client : public agner::async_behaviour {
///       agner::task handle_async(agner::context& ctx, agner::message& m) override {
///         long total = co_await ctx.call(server_, get_total{}, std::chrono::seconds(1));
///         ...
///       }
///     };
///
/// Messages are still handled one at a time, in arrival order: while a handler awaits a call, the
/// next message waits. `ctx` and `m` stay valid across co_await. Everything else is as
/// behaviour (optional init, gc, state_bytes, describe; an exception crashes the process). A plain
/// behaviour pays nothing for this.
class async_behaviour : public behaviour {
 public:
  virtual task handle_async(context& ctx, message& msg) = 0;

 private:
  // Out of line and not final, so that the compiler does not guess this target at every
  // behaviour's call site (speculative devirtualisation would cost plain handlers a compare).
  void handle(context& ctx, message& msg) override;
};

/// A behaviour made of a callable `void(context&, message&)`, or `agner::task(context&, message&)`
/// for a coroutine handler (as async_behaviour); for small processes and tests.
template <class F>
class fn_behaviour final : public behaviour {
 public:
  explicit fn_behaviour(F f) : f_(std::move(f)) {}
  void handle(context& ctx, message& msg) override {
    if constexpr (std::is_same_v<std::invoke_result_t<F&, context&, message&>, task>) {
      detail::task_runner::run(ctx, msg, [this](context& c, message& m) { return f_(c, m); });
    } else {
      f_(ctx, msg);
    }
  }

 private:
  F f_;
};

namespace detail {
/// Where a fresh process is linked at birth (spawn_link).
struct spawn_link_to {
  pid parent;
};

template <class B>
concept has_init = requires(B& b, context& c) { b.init(c); };

/// Type-erased init caller stored with a freshly spawned process.
template <class B>
void call_init(behaviour& b, context& c) {
  static_cast<B&>(b).init(c);
}
using init_fn = void (*)(behaviour&, context&);
using gc_fn = void (*)(behaviour&, heap&);
using state_fn = std::size_t (*)(const behaviour&);
using describe_fn = std::string (*)(const behaviour&);

/// The optional members of a behaviour type, type-erased.
struct hooks {
  init_fn init = nullptr;
  gc_fn gc = nullptr;
  state_fn state_bytes = nullptr;
  describe_fn describe = nullptr;
};

template <class B>
constexpr hooks hooks_of() {
  hooks h;
  if constexpr (has_init<B>) h.init = &call_init<B>;
  if constexpr (requires(B& b, heap& fresh) { b.gc(fresh); })
    h.gc = [](behaviour& b, heap& fresh) { static_cast<B&>(b).gc(fresh); };
  if constexpr (requires(const B& b) { std::size_t{b.state_bytes()}; })
    h.state_bytes = [](const behaviour& b) -> std::size_t { return static_cast<const B&>(b).state_bytes(); };
  if constexpr (requires(const B& b) { std::string{b.describe()}; })
    h.describe = [](const behaviour& b) -> std::string { return static_cast<const B&>(b).describe(); };
  return h;
}
}  // namespace detail

}  // namespace agner
