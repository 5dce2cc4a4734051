#pragma once
/// The process control block. Lives in a process_table slot for the life of the runtime and is
/// reused by later processes in that slot, so a sender holding a stale pid may still touch its
/// mailbox safely: the mailbox's serial and the message's target serial keep such sends out.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "agner/runtime/behaviour.hpp"
#include "agner/runtime/counters.hpp"
#include "counter.hpp"
#include "mailbox.hpp"

namespace agner::detail {

/// Fields after the mailbox belong to whichever scheduler runs the process; the hand-off through the
/// mailbox and the run queues orders them. Readers on other threads use only the atomics.
struct process : mailbox {
  behaviour* code = nullptr;     ///< owned; null while the slot is free
  init_fn init = nullptr;        ///< pending init, cleared once run
  std::unique_ptr<std::string> exit_reason;  ///< set by context::exit or a crash
  single_writer_counter reductions;
  single_writer_counter received;
  std::uint32_t index = 0;       ///< slot index, fixed
  std::atomic<process_status> status{process_status::exiting};
  bool registered = false;       ///< has a registered name to release when it dies
  bool crashed = false;          ///< exit_reason came from an exception (already logged)

  pid id() const noexcept { return pid{index, serial()}; }
  void set_status(process_status s) noexcept { status.store(s, std::memory_order_relaxed); }
};

static_assert(sizeof(process) == 128, "the control block should stay two cache lines");

}  // namespace agner::detail
