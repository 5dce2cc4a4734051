#pragma once
/// The process control block. Lives in a process_table slot for the life of the runtime and is
/// reused by later processes in that slot, so a sender holding a stale pid may still touch its
/// mailbox safely: the mailbox's serial and the message's target serial keep such sends out.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <unordered_map>
#include <vector>

#include "agner/runtime/behaviour.hpp"
#include "agner/snapshot/counters.hpp"
#include "agner/runtime/signals.hpp"
#include "await_state.hpp"
#include "counter.hpp"
#include "mailbox.hpp"

namespace agner::detail {

/// What only some processes need: links, monitors, trap_exit, the exit reason. Allocated on first
/// use so an idle process stays two cache lines.
struct process_ext {
  init_fn init = nullptr;  ///< pending init, cleared once run
  std::string exit_reason;
  std::vector<pid> links;
  /// They get a DOWN when this one ends, by monitor ref. A hash map: a server called by thousands
  /// at once holds a monitor per call in flight (context::request), each cancelled in O(1).
  std::unordered_map<std::uint64_t, pid> monitored_by;
  std::vector<std::pair<monitor_ref, pid>> monitoring;    ///< monitors this process holds
  struct pending_reply {
    std::uint64_t ref;
    std::int64_t deadline_ms;  ///< on the runtime's clock; INT64_MAX for agner::infinity
    std::function<void(context&, reply&)> on_reply;
    /// ctx.request's target, monitored under `ref` until the answer, the timeout or its DOWN;
    /// none for a co_await call (which keeps its own monitor) and run_blocking.
    pid callee{};
  };
  std::vector<pending_reply> pending;  ///< requests awaiting an answer (a co_await call's has no on_reply)
  /// Coroutine handlers' state (context::call); created by the first one to run.
  std::unique_ptr<await_state> await;
  /// Message types already logged as unhandled (context::unhandled logs the first of each).
  std::vector<const message_type*> unhandled_types;
  std::uint64_t unhandled = 0;  ///< messages context::unhandled was called for
  /// One timer for all of them, armed for the earliest deadline (see request_timer.hpp).
  std::uint64_t request_timer = 0;
  std::int64_t request_timer_ms = INT64_MAX;  ///< when it falls due; INT64_MAX: not armed
  bool trap_exit = false;
  bool owns_ports = false;  ///< its ports close when it ends
  bool hibernate = false;   ///< collect and shrink once idle
  pid parent;               ///< who spawn_linked it
  describe_fn describe = nullptr;   ///< the behaviour's state description, if it has one
  gc_fn gc = nullptr;               ///< the behaviour's compaction hook, if it has one
  state_fn state_bytes = nullptr;   ///< the behaviour's state report, if it has one
  std::size_t max_heap_bytes = 0;
  std::unique_ptr<agner::heap> heap;  ///< created by context::heap()
  /// Heaps a gc hook left live data in (a behaviour bug, logged): kept until the process ends.
  std::vector<std::unique_ptr<agner::heap>> stranded;
};

/// Fields after the mailbox belong to whichever scheduler runs the process; the hand-off through the
/// mailbox and the run queues orders them. Readers on other threads use only the atomics.
struct process : mailbox {
  behaviour* code = nullptr;     ///< owned; null while the slot is free
  std::unique_ptr<process_ext> ext;  ///< see process_ext; null until needed
  single_writer_counter reductions;
  single_writer_counter received;
  std::uint32_t index = 0;       ///< slot index, fixed
  std::atomic<process_status> status{process_status::exiting};
  bool registered = false;       ///< has a registered name to release when it dies
  bool crashed = false;          ///< the exit reason came from an exception (already logged)
  /// Why the run loop must stop: stop_exit (ends once the current handler returns; reason in
  /// ext), stop_suspend (handles no message until resumed) or stop_await (a coroutine handler
  /// awaits a call: nothing else is handled until its outcome is in, ext->await). One byte, so the
  /// loop tests one load.
  std::uint8_t stop = 0;
  static constexpr std::uint8_t stop_exit = 1, stop_suspend = 2, stop_await = 4;

  process_ext& extension() {
    if (!ext) ext = std::make_unique<process_ext>();
    return *ext;
  }
  /// Marks the process to end with `reason`; the first reason given wins.
  void set_exit(std::string reason) {
    if (exiting()) return;
    stop |= stop_exit;
    extension().exit_reason = std::move(reason);
  }

  bool exiting() const noexcept { return stop & stop_exit; }
  bool suspended() const noexcept { return stop & stop_suspend; }
  bool awaiting() const noexcept { return stop & stop_await; }
  pid id() const noexcept { return pid{index, serial()}; }
  void set_status(process_status s) noexcept { status.store(s, std::memory_order_relaxed); }
};

static_assert(sizeof(process) == control_block_bytes, "the control block should stay two cache lines");

}  // namespace agner::detail
