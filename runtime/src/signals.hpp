#pragma once
/// Signals travel through the mailbox like messages (so they keep their order with the sender's
/// messages) but are handled by the runtime before any handler sees them. Those marked
/// agner_bookkeeping become no message and do not count in the queue's length or bytes
/// (message_type::tally); exits, DOWNs, replies, timeouts and ports do, as Erlang's messages.
#include <functional>
#include <string>

#include "agner/runtime/message.hpp"
#include "agner/snapshot/pid.hpp"
#include "agner/runtime/ports.hpp"
#include "agner/runtime/behaviour.hpp"
#include "agner/runtime/request.hpp"
#include "agner/runtime/signals.hpp"

namespace agner::detail {

struct link_signal {
  static constexpr bool agner_signal = true;
  static constexpr bool agner_bookkeeping = true;  // applied on arrival, never a message
  pid from;
};
struct unlink_signal {
  static constexpr bool agner_signal = true;
  static constexpr bool agner_bookkeeping = true;  // applied on arrival, never a message
  pid from;
};
struct exit_signal {
  static constexpr bool agner_signal = true;
  pid from;
  std::string reason;
  bool from_link = false;  ///< the sender ended while linked (else: an explicit exit(pid, reason))
};
struct monitor_signal {
  static constexpr bool agner_signal = true;
  static constexpr bool agner_bookkeeping = true;  // applied on arrival, never a message
  pid from;
  monitor_ref ref;
};
/// Collect the heap now (runtime::garbage_collect).
struct gc_signal {
  static constexpr bool agner_signal = true;
  static constexpr bool agner_bookkeeping = true;  // applied on arrival, never a message
};
/// Suspend or resume handling messages (an operator's suspend_process / resume_process).
struct suspend_signal {
  static constexpr bool agner_signal = true;
  static constexpr bool agner_bookkeeping = true;  // applied on arrival, never a message
  bool suspend;
};
/// Report on yourself (runtime::inspect); answered on arrival, between two handlers.
struct inspect_signal {
  static constexpr bool agner_signal = true;
  static constexpr bool agner_bookkeeping = true;  // applied on arrival, never a message
  inspect_options options;
  std::function<void(process_report)> done;
};
struct demonitor_signal {
  static constexpr bool agner_signal = true;
  static constexpr bool agner_bookkeeping = true;  // applied on arrival, never a message
  monitor_ref ref;
};
struct down_signal {
  static constexpr bool agner_signal = true;
  monitor_ref ref;
  pid who;
  std::string reason;
};

}  // namespace agner::detail

namespace agner::detail {

struct reply_signal {
  static constexpr bool agner_signal = true;
  std::uint64_t ref;
  reply::status status;
  message_ptr body;
  /// Who answered, when it was the request's target and it dropped the request's monitor as it
  /// answered (context::send_reply): then the requester sends no cancel. None otherwise.
  pid replier{};
};
struct request_timeout_signal {
  static constexpr bool agner_signal = true;
  std::uint64_t ref;
};
/// The requests' shared timer (process_ext::request_timer) fell due at `at_ms`.
struct request_deadline_signal {
  static constexpr bool agner_signal = true;
  static constexpr bool agner_bookkeeping = true;  // applied on arrival, never a message
  std::int64_t at_ms;
};
/// Not a signal: what on_signal hands back to run a requester's continuation under the crash guard.
struct continuation_call {
  std::function<void(context&, reply&)> fn;
  reply result;
};

}  // namespace agner::detail

namespace agner::detail {

/// A port that now belongs to the receiver: the runtime notes it (so the port closes when the
/// process ends) and hands the owner the matching message (tcp_accepted, tcp_connected, port_given).
struct port_signal {
  static constexpr bool agner_signal = true;
  enum class kind { accepted, connected, given_socket, given_listener };
  kind what;
  port_id listener;
  port_id socket;
  std::string peer;
};

}  // namespace agner::detail
