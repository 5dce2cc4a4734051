#pragma once
/// The value types every reader shares: the collector fills them, the wire codec, etop, the
/// exporter and the alarms read them. Plain data; no reference into the runtime.
#include <cstdint>
#include <string>
#include <vector>

#include "agner/snapshot/counters.hpp"
#include "agner/snapshot/pid.hpp"

namespace agner::introspect {

struct scheduler_row {
  unsigned id = 0;
  std::uint64_t run_queue_length = 0;
  std::uint64_t reductions = 0;
  std::uint64_t context_switches = 0;
  std::uint64_t busy_ns = 0;
  std::uint64_t wall_ns = 0;
  pid running;             ///< the process it runs now, if any
  std::string handling;    ///< the type of the message that process is handling
  bool operator==(const scheduler_row&) const = default;
};

struct process_row {
  pid id;
  std::string registered_name;  ///< empty when none
  std::string behaviour;        ///< demangled type of its behaviour
  std::string current_handler;  ///< while running: the type of the message being handled
  std::uint64_t message_queue_len = 0;
  std::uint64_t reductions = 0;
  std::uint64_t reductions_in_window = 0;  ///< since the reader's previous look (reductions_window)
  std::uint64_t messages_received = 0;
  std::uint64_t memory_bytes = 0;  ///< control block + mailbox + heap + what the behaviour reports
  std::uint64_t gc_runs = 0;  ///< minor + major collections
  std::uint64_t oldest_message_age_ms = 0;  ///< 0 when the queue is empty
  process_status status = process_status::waiting;
  bool operator==(const process_row&) const = default;
};

/// One process in full (process_info): its counters, and what it said about itself if it answered
/// in time.
struct process_details {
  process_row row;
  std::uint64_t mailbox_bytes = 0;
  std::uint64_t heap_bytes = 0;
  std::uint64_t state_bytes = 0;
  std::uint64_t minor_gcs = 0;
  std::uint64_t major_gcs = 0;
  std::uint64_t gc_reclaimed_bytes = 0;  ///< given back by all its collections, monotonic
  /// False when the process did not answer before the deadline (busy in a long handler): `report`
  /// is then empty and only the counters above are known.
  bool responsive = false;
  process_report report;
  bool operator==(const process_details&) const = default;
};

/// An active alarm (alarms/ fills these; empty until rules are loaded).
struct alarm_row {
  std::string id;          ///< e.g. "run_queue_high" or "queue_len:matcher"
  std::string source;      ///< "system", "process", "business", "application"
  std::string severity;    ///< critical, major, minor, warning
  std::string description;
  std::uint64_t raised_at_ms = 0;  ///< wall-clock milliseconds since the epoch
  bool acknowledged = false;
  bool operator==(const alarm_row&) const = default;
};

/// One alarm edge, for the history.
struct alarm_event {
  std::uint64_t at_ms = 0;  ///< wall-clock milliseconds since the epoch
  std::string alarm, source, from, to;  ///< from/to: a severity or "inactive"
  double value = 0;
  bool operator==(const alarm_event&) const = default;
};

/// A valve (a named shed point) and what it did.
struct valve_row {
  std::string id;
  double pressure = 0;          ///< 0: admits everything; 1: sheds every class but the system one
  bool shadow = false;          ///< counts what it would shed, sheds nothing
  std::string override_mode;    ///< automatic, open or closed (an operator's)
  std::uint64_t offered = 0, shed = 0, would_shed = 0;  ///< over all classes
  bool operator==(const valve_row&) const = default;
};

/// Bytes by kind. Per-process mailbox bytes are not summed here: that needs a scan (see top()).
struct memory_info {
  std::uint64_t processes_bytes = 0;  ///< control blocks (128 bytes per live process)
  std::uint64_t heaps_bytes = 0;      ///< process heaps (whole chunks)
  std::uint64_t binary_bytes = 0;     ///< shared binaries, counted once
  std::uint64_t resident_bytes = 0;   ///< the OS process's resident set (/proc/self/statm)
  bool operator==(const memory_info&) const = default;
};

struct node_info {
  std::string name;             ///< the node's name (agner-node --name)
  std::uint64_t uptime_ns = 0;
  std::uint32_t process_count = 0;
  std::uint32_t process_limit = 0;
  std::uint64_t run_queue_total = 0;  ///< every scheduler's queue plus the global one
  std::vector<scheduler_row> schedulers;
  message_counters messages;
  gc_counters gc;
  memory_info memory;
  port_counters ports;
  std::vector<alarm_row> alarms;  ///< active alarms
  std::vector<valve_row> valves;
  bool operator==(const node_info&) const = default;
};

}  // namespace agner::introspect
