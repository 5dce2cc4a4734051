#include "agner/runtime/clock.hpp"

#include <algorithm>

namespace agner {

void manual_clock::advance(duration d) {
  std::vector<std::function<void(time_point)>> to_call;
  time_point now;
  {
    std::lock_guard lock(mutex_);
    now_ += d;
    now = now_;
    for (auto& [h, f] : listeners_) to_call.push_back(f);
  }
  for (auto& f : to_call) f(now);
}

std::uint64_t manual_clock::subscribe(std::function<void(time_point)> on_advance) {
  std::lock_guard lock(mutex_);
  listeners_.emplace_back(next_handle_, std::move(on_advance));
  return next_handle_++;
}

void manual_clock::unsubscribe(std::uint64_t handle) {
  std::lock_guard lock(mutex_);
  std::erase_if(listeners_, [&](const auto& l) { return l.first == handle; });
}

}  // namespace agner
