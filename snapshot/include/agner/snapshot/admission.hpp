#pragma once
/// A shed point the runtime consults before spawning or before a send by name (docs/alarms.md):
/// the alarms' valves implement it. Under pressure it refuses work of the lower priority classes
/// at the producer ("overloaded, retry later"); the work is counted, never silently lost. It lives in
/// agner::snapshot, beside the rows, so that a shed point's implementer needs no runtime.
#include <cstddef>
#include <string_view>

namespace agner {

class admission {
 public:
  virtual ~admission() = default;
  /// May work of priority class `cls` go in now? Thread-safe and cheap (a load and a compare).
  virtual bool admit(std::size_t cls) noexcept = 0;
  /// For error messages: "overloaded (valve ingress), retry later".
  virtual std::string_view name() const noexcept = 0;
};

}  // namespace agner
