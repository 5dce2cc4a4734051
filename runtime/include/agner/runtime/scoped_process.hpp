#pragma once
/// A process owned by a plain thread (CAF's scoped_actor): a pid of its own while it lives, with
/// send, receive with a timeout, and a blocking call. For main(), tests and benchmarks that would
/// otherwise need a collector process, a latch and a results struct that outlives the runtime.
#include <chrono>
#include <functional>
#include <memory>

#include "agner/runtime/request.hpp"
#include "agner/runtime/runtime.hpp"

namespace agner {

namespace detail {
struct scoped_state;
/// Runs `work` on a scoped process's own scheduler-side half (its inbox behaviour).
struct scoped_command {
  std::function<void(context&)> work;
};
}  // namespace detail

/// A process whose messages are read by a plain thread. It is a real process: registered in the
/// table (process_info, scan and etop see it), a target for sends, links, monitors and requests;
/// it traps exits, so an exit signal from a link arrives as an exit_message to receive. It ends
/// with reason "normal" when the object is destroyed; messages not received are dropped then.
///
/// Thread contract: one thread uses it at a time, and never a scheduler thread (the constructor
/// throws std::logic_error there, as runtime::call does, because receive and call block).
/// Cost: one process (two cache lines and a behaviour), plus one mutex and condition variable;
/// each message received is handed over under that mutex (no copy: the envelope itself moves).
class scoped_process {
 public:
  /// Spawns the process. Throws spawn_error as runtime::spawn does, std::logic_error on a
  /// scheduler thread. `rt` must outlive this object.
  explicit scoped_process(runtime& rt, const spawn_options& opts = {});
  /// Ends the process with reason "normal" (its links and monitors see it) and drops what it
  /// has not received.
  ~scoped_process();
  scoped_process(const scoped_process&) = delete;
  scoped_process& operator=(const scoped_process&) = delete;

  /// This process's pid, fixed for its life.
  pid self() const noexcept { return self_; }

  /// Sends `value` to `to`, as runtime::send (FIFO from this thread; false only when a bounded
  /// mailbox with policy reject refused it).
  template <class T>
  bool send(pid to, T&& value) {
    return rt_.send(to, std::forward<T>(value));
  }

  /// The oldest message not yet received, waiting up to `timeout` of wall time (steady_clock;
  /// agner::infinity waits for ever; zero only looks). Null when none came in time, or when the
  /// process has ended (killed, or the runtime stopped). Requests, DOWNs and exit_messages arrive
  /// here like any message.
  message_ptr receive(std::chrono::nanoseconds timeout);
  /// The same, for a message of type T: the next message's payload if it is a T. A message of
  /// another type is received (removed) and yields nullopt, as a plain receive would.
  template <class T>
  std::optional<T> receive_as(std::chrono::nanoseconds timeout) {
    auto m = receive(timeout);
    if (T* v = m ? m->get<T>() : nullptr) return std::optional<T>(std::move(*v));
    return std::nullopt;
  }

  /// A blocking request from this process (runtime::call's semantics): sends `request<T>` to `to`
  /// with this pid as the reply address and waits for the answer, the timeout (on the runtime's
  /// clock; agner::infinity waits for ever) or noproc (`to` dead or ended before answering). Messages arriving meanwhile stay queued
  /// for receive, in order. reply::status::noproc as well if this process itself has ended.
  template <class T>
  reply call(pid to, T body, std::chrono::nanoseconds timeout) {
    auto answer = std::make_shared<std::optional<reply>>();
    run([&, answer](context& ctx, const std::function<void()>& done) {
      ctx.request(to, std::move(body), timeout, [answer, done](context&, reply& r) {
        answer->emplace(std::move(r));
        done();
      });
    });
    if (!*answer) return reply(reply::status::noproc, nullptr);
    return std::move(**answer);
  }

  /// Links this process to `other` (an exit of `other` arrives as an exit_message). Blocks until
  /// the process has done it.
  void link(pid other);
  /// Monitors `other`; its down_message arrives to receive. Blocks until the process has done it.
  monitor_ref monitor(pid other);
  /// Cancels a monitor (no down_message from it is received after this returns).
  void demonitor(monitor_ref ref);

 private:
  /// Runs `work(ctx, done)` on the process and blocks until `done()` has been called (from that
  /// process, at once or from a later continuation) or the process has ended.
  void run(std::function<void(context&, const std::function<void()>&)> work);
  runtime& rt_;
  std::shared_ptr<detail::scoped_state> state_;
  pid self_;
};

}  // namespace agner
