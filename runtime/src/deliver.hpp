#pragma once
/// What the services that are not schedulers (timers, ports, the blocking pool) may do to the
/// node: hand a message to a process. They hold this, not the node's state.
#include <type_traits>
#include <utility>

#include "agner/runtime/message.hpp"
#include "agner/snapshot/pid.hpp"

namespace agner::detail {

/// How a send ended, as far as the sender can tell.
enum class send_outcome { queued, dead_letter, rejected, dropped };

class deliver_hook {
 public:
  /// Sends `m` (owned: destroyed if it is not queued) to `to` as a thread that is no scheduler.
  /// Counted as any send from outside (sent, then delivered, dropped or dead-lettered).
  /// Thread-safe; lock-free but for a drop_oldest mailbox past its bound.
  virtual send_outcome deliver(pid to, message* m) = 0;
  /// Whether `to` is alive now: a hint, it may end right after. Thread-safe; O(1).
  virtual bool alive(pid to) const noexcept = 0;

  template <class T>
  send_outcome deliver_value(pid to, T&& value) {
    return deliver(to, make_message<std::decay_t<T>>(std::forward<T>(value)));
  }

 protected:
  ~deliver_hook() = default;
};

}  // namespace agner::detail
