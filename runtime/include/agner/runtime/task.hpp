#pragma once
/// agner::task: what a handler returns when it uses `co_await ctx.call(...)` (see behaviour.hpp).
#include <chrono>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "agner/snapshot/pid.hpp"
#include "agner/runtime/request.hpp"
#include "agner/runtime/signals.hpp"

namespace agner {

/// Thrown by `co_await ctx.call(...)` for a request whose body declares `reply_type` when no
/// answer came: the call timed out, or the callee was dead or ended before answering (as
/// gen_server:call exits its caller). Uncaught, it crashes the caller with this text as the reason.
class call_error : public std::runtime_error {
 public:
  call_error(reply::status outcome, const std::string& what) : std::runtime_error(what), outcome_(outcome) {}
  /// timeout or noproc.
  reply::status outcome() const noexcept { return outcome_; }

 private:
  reply::status outcome_;
};

namespace detail {
/// One call in flight: lives in the awaiting coroutine's frame; the runtime fills in the outcome.
struct call_slot {
  std::uint64_t ref = 0;  ///< the request's reply reference
  monitor_ref mon;        ///< the monitor on the callee
  pid callee;
  std::chrono::nanoseconds timeout{0};
  bool arrived = false;   ///< the outcome is in (the coroutine may go on)
  bool down = false;      ///< the outcome is the callee's DOWN (no demonitor needed)
  reply::status status = reply::status::noproc;
  message_ptr body;
  std::string reason;     ///< the callee's exit reason when it ended before answering
};
[[noreturn]] void throw_call_error(const call_slot& slot);
template <class R>
class call_awaiter;
template <class T>
inline constexpr bool is_call_awaiter = false;
template <class R>
inline constexpr bool is_call_awaiter<call_awaiter<R>> = true;
}  // namespace detail

/// The return type of a coroutine handler (async_behaviour::handle_async, or a spawn_fn lambda
/// declared `-> agner::task`). It starts when the runtime runs it and may `co_await ctx.call(...)`
/// any number of times; nothing else can be awaited (a compile error). Move-only; owns its frame.
/// A task that is never run (discarded) never starts.
class [[nodiscard]] task {
 public:
  struct promise_type {
    std::exception_ptr error;
    task get_return_object() noexcept { return task(std::coroutine_handle<promise_type>::from_promise(*this)); }
    std::suspend_always initial_suspend() noexcept { return {}; }
    std::suspend_always final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { error = std::current_exception(); }
    template <class A>
    A&& await_transform(A&& a) noexcept {
      static_assert(detail::is_call_awaiter<std::remove_cvref_t<A>>,
                    "an agner::task can co_await only ctx.call(to, body, timeout)");
      return std::forward<A>(a);
    }
  };
  using handle_type = std::coroutine_handle<promise_type>;

  task(task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  task& operator=(task&& o) noexcept {
    if (this != &o) {
      if (h_) h_.destroy();
      h_ = std::exchange(o.h_, {});
    }
    return *this;
  }
  ~task() {
    if (h_) h_.destroy();
  }
  /// The frame, handed over (the runtime keeps it while the process awaits a call).
  handle_type release() noexcept { return std::exchange(h_, {}); }

 private:
  explicit task(handle_type h) noexcept : h_(h) {}
  handle_type h_;
};

}  // namespace agner
