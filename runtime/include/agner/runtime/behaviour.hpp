#pragma once
/// What a process runs: a user class with a message handler, and the context it is handed.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "agner/runtime/message.hpp"
#include "agner/runtime/pid.hpp"

namespace agner {

class runtime;
class context;
namespace detail {
struct process;
class scheduler;
}  // namespace detail

/// A process's code and state. The runtime calls `handle` for each message in arrival order, on one
/// scheduler thread at a time; the object is never touched by two threads at once, so it needs no
/// locks. A handler must not block (no sleeps, no waiting on other processes): it holds a scheduler.
/// An exception escaping `handle` (or `init`) crashes this process only; it is logged with the pid,
/// the registered name and the exception's text.
///
/// A behaviour that defines `void init(context&)` (not virtual: it is found at compile time by
/// `spawn`) has it run on a scheduler before any message is handled.
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

  /// Sends `value` to `to`. Never blocks, never fails: a send to a dead process is counted as a dead
  /// letter. Messages from one sender to one receiver arrive in the order sent.
  template <class T>
  void send(pid to, T&& value) {
    send_message(to, make_message<std::decay_t<T>>(std::forward<T>(value)));
  }
  void send_message(pid to, message* m);

  /// Spawns a process (see runtime::spawn); its init, if any, runs on this scheduler soon after.
  template <class B, class... A>
  pid spawn(A&&... args);

  /// Ends this process once the current handler returns. "normal" is a quiet exit; any other reason
  /// is logged as an abnormal exit. Messages still queued become dead letters.
  void exit(std::string reason = "normal");

  /// Declares extra work done by this handler, in reductions (one is charged per message already).
  /// Heavy handlers use it so the scheduler's fairness budget reflects what they cost.
  void add_reductions(std::uint64_t n) noexcept;

 private:
  friend class detail::scheduler;
  context(runtime* rt, detail::process* p, detail::scheduler* s) : rt_(rt), proc_(p), sched_(s) {}
  runtime* rt_;
  detail::process* proc_;
  detail::scheduler* sched_;
};

/// A behaviour made of a callable `void(context&, message&)`; for small processes and tests.
template <class F>
class fn_behaviour final : public behaviour {
 public:
  explicit fn_behaviour(F f) : f_(std::move(f)) {}
  void handle(context& ctx, message& msg) override { f_(ctx, msg); }

 private:
  F f_;
};

namespace detail {
template <class B>
concept has_init = requires(B& b, context& c) { b.init(c); };

/// Type-erased init caller stored with a freshly spawned process.
template <class B>
void call_init(behaviour& b, context& c) {
  static_cast<B&>(b).init(c);
}
using init_fn = void (*)(behaviour&, context&);
template <class B>
constexpr init_fn init_of() {
  if constexpr (has_init<B>) return &call_init<B>;
  return nullptr;
}
}  // namespace detail

}  // namespace agner
