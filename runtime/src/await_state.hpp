#pragma once
/// What a process keeps while a coroutine handler awaits a call (context::call): the suspended
/// frame, the message its handler was given, and a context that outlives any one run of the process.
#include <coroutine>

#include "agner/runtime/behaviour.hpp"
#include "agner/runtime/task.hpp"

namespace agner::detail {

struct await_state {
  await_state(runtime* rt, process* p) : ctx(rt, p, nullptr) {}
  await_state(const await_state&) = delete;
  await_state& operator=(const await_state&) = delete;
  /// Destroys a frame still suspended (the process ended while awaiting) and its message.
  ~await_state() { drop(); }

  /// The context coroutine handlers get; its scheduler is updated before each run.
  context ctx;
  /// The call awaited, in the suspended frame; null when none is.
  call_slot* slot = nullptr;
  /// The suspended handler, and the message it was given (kept alive for it; see hide/show).
  task::handle_type frame;
  message* held = nullptr;
  const message_type* held_type = nullptr;

  void set_scheduler(scheduler* s) noexcept { ctx.sched_ = s; }

  /// The run loop destroys the handler's message when the handler returns. A handler suspended in
  /// a call still reads it, so the process takes it over by giving it, until the handler resumes,
  /// a type whose destroy does nothing: the plain message path needs no test for this case.
  void hold(message& m) noexcept {
    held = &m;
    held_type = m.type;
    m.type = &kept;
  }
  void show() noexcept { held->type = held_type; }
  void hide() noexcept { held->type = &kept; }

  /// Destroys the frame and the held message, if any.
  void drop() noexcept {
    if (frame) frame.destroy();
    frame = {};
    slot = nullptr;
    if (held) {
      held->type = held_type;
      destroy(held);
      held = nullptr;
    }
  }

  static constexpr message_type kept{[](message*) noexcept {}, &typeid(void), nullptr, 0, false};
};

}  // namespace agner::detail
