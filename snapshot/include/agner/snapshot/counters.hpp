#pragma once
/// Plain values read from the runtime's counters (the runtime fills them; the introspection module
/// builds its snapshot on them). Part of agner::snapshot: header-only, no runtime dependency.
#include <cstdint>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include "agner/snapshot/pid.hpp"

namespace agner {

/// Bytes of a process's control block: what an idle process costs, before its heap and mailbox.
inline constexpr std::uint64_t control_block_bytes = 128;

/// Erlang's process states that Agner has today.
enum class process_status : std::uint8_t {
  waiting,   ///< idle, mailbox empty
  runnable,  ///< has messages, in a run queue
  running,   ///< a scheduler is running its handler
  garbage_collecting,  ///< a scheduler is collecting its heap
  suspended, ///< an operator suspended it: it handles no message until resumed
  exiting,   ///< terminating; its slot is about to be freed
};
/// The status's name as Erlang spells it ("waiting", "garbage_collecting"; "unknown" for a value
/// out of range). Thread-safe; O(1).
inline std::string_view to_string(process_status s) {
  switch (s) {
    case process_status::waiting: return "waiting";
    case process_status::runnable: return "runnable";
    case process_status::running: return "running";
    case process_status::garbage_collecting: return "garbage_collecting";
    case process_status::suspended: return "suspended";
    case process_status::exiting: return "exiting";
  }
  return "unknown";
}

struct process_counters {
  pid id;
  std::string registered_name;           ///< empty when none
  std::uint64_t reductions = 0;          ///< monotonic: one per message plus declared extra work
  std::uint64_t messages_received = 0;   ///< messages handed to the handler
  std::uint64_t message_queue_len = 0;   ///< sent to it and not yet handled
  std::uint64_t memory = 0;              ///< bytes: control block + mailbox + heap + state_bytes
  std::uint64_t mailbox_bytes = 0;       ///< queued envelopes (see message::bytes)
  std::uint64_t heap_bytes = 0;          ///< the process heap's chunks (see heap::size)
  std::uint64_t state_bytes = 0;         ///< what the behaviour reports about its state
  std::uint64_t minor_gcs = 0;           ///< collections that released empty chunks only
  std::uint64_t major_gcs = 0;           ///< compacting collections (garbage_collect, hibernate, growth)
  std::uint64_t gc_reclaimed = 0;        ///< bytes given back by all its collections, monotonic
  std::uint64_t oldest_message_age_ms = 0;  ///< age of the oldest queued message (see docs/runtime.md)
  std::string behaviour;                 ///< demangled type of its behaviour
  process_status status = process_status::waiting;
  bool operator==(const process_counters&) const = default;
};

/// What a scan of the process table reads for each live process: atomics only, no name (that
/// needs the registry's lock; look it up for the few rows you keep).
struct process_sample {
  pid id;
  std::uint64_t reductions = 0;
  std::uint64_t messages_received = 0;
  std::uint64_t message_queue_len = 0;
  std::uint64_t memory = 0;
  std::uint64_t gc_runs = 0;  ///< minor + major
  std::uint64_t oldest_message_age_ms = 0;
  const std::type_info* behaviour = nullptr;  ///< its behaviour's type (demangle(behaviour->name()))
  process_status status = process_status::waiting;
  std::uint32_t max_len = 0;  ///< its mailbox's bound (spawn_options::max_len); 0: unbounded
  bool operator==(const process_sample&) const = default;
};

/// A queued message as introspection shows it.
struct queued_message {
  std::string type;   ///< demangled payload type
  std::uint64_t bytes = 0;
  std::string text;   ///< the payload formatted (only when asked for and the type is formattable)
  bool operator==(const queued_message&) const = default;
};

/// What to include in a process_report.
struct inspect_options {
  std::size_t max_messages = 10;   ///< queued messages to list, oldest first
  std::size_t max_bytes = 4096;    ///< bound on the listed messages' text (and each one's)
  bool contents = false;           ///< format payloads (admins only: they may hold user data)
  bool operator==(const inspect_options&) const = default;
};

/// What a process says about itself when asked (runtime::inspect), between two of its handlers.
struct process_report {
  std::string behaviour;               ///< demangled type of its behaviour
  std::vector<pid> links;
  std::vector<pid> monitors;           ///< processes it monitors
  std::vector<pid> monitored_by;       ///< processes monitoring it
  pid parent;                          ///< the process that spawn_linked it (its supervisor), if any
  bool trap_exit = false;
  bool suspended = false;
  std::string state;                   ///< the behaviour's describe(), if it has one
  std::vector<queued_message> queue;   ///< the first queued messages, within inspect_options
  std::uint64_t queue_listed_bytes = 0;
  /// Messages its handler matched no branch for and said so (context::unhandled), monotonic. Kept
  /// by the owner alone, so it is here and not in process_info (whose fields other threads read).
  std::uint64_t unhandled_messages = 0;
  bool operator==(const process_report&) const = default;
};

struct scheduler_counters {
  unsigned id = 0;
  std::uint64_t run_queue_length = 0;  ///< runnable processes queued on this scheduler
  std::uint64_t reductions = 0;        ///< monotonic
  std::uint64_t context_switches = 0;  ///< process activations, monotonic
  std::uint64_t busy_ns = 0;           ///< time not idle (spinning for work counts as idle)
  std::uint64_t wall_ns = 0;           ///< time since the scheduler started
  pid running;                         ///< the process it runs now, if any
  std::string handling;                ///< the type of the message it is handling, if any
  bool operator==(const scheduler_counters&) const = default;
};

/// Node-wide message accounting. After the node quiesces,
/// sent == delivered + shed + dropped + dead_letters exactly.
struct message_counters {
  std::uint64_t sent = 0;          ///< every send, including sends to dead pids
  std::uint64_t delivered = 0;     ///< handed to a live receiver's handler
  std::uint64_t dropped = 0;       ///< by bounded mailboxes: the sum of the three below
  std::uint64_t dropped_rejected = 0;     ///< refused, the sender told (policy reject)
  std::uint64_t dropped_newest = 0;       ///< policy drop_newest
  std::uint64_t dropped_oldest = 0;       ///< policy drop_oldest
  std::uint64_t dead_letters = 0;  ///< to a dead pid, or left in a mailbox when its process ended
  std::uint64_t shed = 0;          ///< refused by a shed point (runtime::gate_sends): overloaded
  std::uint64_t late_replies = 0;  ///< answers that arrived after their request timed out (delivered, then dropped)
  std::uint64_t unhandled = 0;     ///< messages a handler matched no branch for and said so (context::unhandled)
  bool operator==(const message_counters&) const = default;
};

/// Heaps and collections, node-wide.
struct gc_counters {
  std::uint64_t minor_runs = 0;       ///< monotonic
  std::uint64_t major_runs = 0;       ///< monotonic
  std::uint64_t bytes_reclaimed = 0;  ///< monotonic
  std::uint64_t heap_bytes = 0;       ///< held by all process heaps now
  bool operator==(const gc_counters&) const = default;
};

/// Ports (sockets and listeners) and their traffic.
struct port_counters {
  std::uint64_t open = 0;       ///< ports open now
  std::uint64_t accepted = 0;   ///< connections accepted, monotonic
  std::uint64_t bytes_in = 0;   ///< read from sockets, monotonic
  std::uint64_t bytes_out = 0;  ///< written to sockets, monotonic
  /// Accepts that failed for want of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM); the
  /// listener stays open and tries again 50 ms later. Monotonic.
  std::uint64_t accept_failures = 0;
  bool operator==(const port_counters&) const = default;
};

}  // namespace agner
