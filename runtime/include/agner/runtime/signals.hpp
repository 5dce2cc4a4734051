#pragma once
/// What links and monitors deliver to a handler (Erlang's {'EXIT', From, Reason} and
/// {'DOWN', Ref, process, Pid, Reason}).
#include <cstdint>
#include <string>

#include "agner/snapshot/pid.hpp"

namespace agner {

/// Names one monitor; returned by context::monitor.
struct monitor_ref {
  std::uint64_t id = 0;
  friend bool operator==(monitor_ref, monitor_ref) = default;
};

/// Delivered to a process that traps exits when a linked process ends (or sends it an exit signal).
struct exit_message {
  pid from;
  std::string reason;
};

/// Delivered exactly once per monitor when the monitored process ends, or at once with reason
/// "noproc" if it was already dead.
struct down_message {
  monitor_ref ref;
  pid who;
  std::string reason;
};

}  // namespace agner
