#pragma once
/// The value types every reader shares: the collector fills them, the wire codec, etop, the
/// exporter and the alarms read them. Plain data; no reference into the runtime.
#include <cstdint>
#include <string>
#include <vector>

#include "agner/runtime/counters.hpp"
#include "agner/runtime/pid.hpp"

namespace agner::introspect {

struct scheduler_row {
  unsigned id = 0;
  std::uint64_t run_queue_length = 0;
  std::uint64_t reductions = 0;
  std::uint64_t context_switches = 0;
  std::uint64_t busy_ns = 0;
  std::uint64_t wall_ns = 0;
};

struct process_row {
  pid id;
  std::string registered_name;  ///< empty when none
  std::uint64_t message_queue_len = 0;
  std::uint64_t reductions = 0;
  std::uint64_t reductions_in_window = 0;  ///< since the reader's previous look (reductions_window)
  std::uint64_t messages_received = 0;
  std::uint64_t memory = 0;  ///< bytes: control block + queued envelopes
  process_status status = process_status::waiting;
};

struct node_info {
  std::uint64_t uptime_ns = 0;
  std::uint32_t process_count = 0;
  std::uint32_t process_limit = 0;
  std::uint64_t run_queue_total = 0;  ///< every scheduler's queue plus the global one
  std::vector<scheduler_row> schedulers;
  message_counters messages;
  port_counters ports;
};

}  // namespace agner::introspect
