#pragma once
/// A hashed timer wheel: 1,024 slots of one millisecond. Adding and cancelling are O(1) plus the
/// slot's length; advancing visits each elapsed slot once. Not thread-safe (the timer service locks).
#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "agner/runtime/message.hpp"
#include "agner/runtime/pid.hpp"

namespace agner::detail {

class timer_wheel {
 public:
  static constexpr std::int64_t slots = 1024;
  struct entry {
    std::uint64_t id;
    std::int64_t deadline_ms;
    pid to;
    message* msg;  // owned until fired or cancelled
  };

  explicit timer_wheel(std::int64_t now_ms) : cursor_(now_ms) {}
  ~timer_wheel() {
    for (auto& slot : wheel_)
      for (auto& e : slot) destroy(e.msg);
  }
  timer_wheel(const timer_wheel&) = delete;
  timer_wheel& operator=(const timer_wheel&) = delete;

  void add(entry e) {
    if (e.deadline_ms <= cursor_) e.deadline_ms = cursor_ + 1;  // due at the next advance
    auto s = slot_of(e.deadline_ms);
    slot_index_[e.id] = s;
    wheel_[s].push_back(e);
  }

  /// True if the timer was pending (its message is destroyed); false if it fired or never existed.
  bool cancel(std::uint64_t id) {
    auto it = slot_index_.find(id);
    if (it == slot_index_.end()) return false;
    auto& slot = wheel_[it->second];
    auto e = std::find_if(slot.begin(), slot.end(), [&](const entry& x) { return x.id == id; });
    destroy(e->msg);
    slot.erase(e);
    slot_index_.erase(it);
    return true;
  }

  /// Moves every entry due at `now_ms` into `due`, oldest deadline first (ties: creation order).
  void advance(std::int64_t now_ms, std::vector<entry>& due) {
    const std::size_t first = due.size();
    const std::int64_t steps = std::min(now_ms - cursor_, slots);
    for (std::int64_t i = 1; i <= steps; ++i) {
      auto& slot = wheel_[slot_of(cursor_ + i)];
      auto keep = std::partition(slot.begin(), slot.end(), [&](const entry& e) { return e.deadline_ms > now_ms; });
      for (auto it = keep; it != slot.end(); ++it) {
        slot_index_.erase(it->id);
        due.push_back(*it);
      }
      slot.erase(keep, slot.end());
    }
    if (now_ms > cursor_) cursor_ = now_ms;
    std::sort(due.begin() + static_cast<std::ptrdiff_t>(first), due.end(), [](const entry& a, const entry& b) {
      return a.deadline_ms != b.deadline_ms ? a.deadline_ms < b.deadline_ms : a.id < b.id;
    });
  }

  /// A time at or before the earliest deadline, or nullopt when no timer is pending.
  std::optional<std::int64_t> next_wake() const {
    if (slot_index_.empty()) return std::nullopt;
    for (std::int64_t i = 1; i <= slots; ++i)
      if (!wheel_[slot_of(cursor_ + i)].empty()) return cursor_ + i;
    return cursor_ + slots;
  }

  std::size_t size() const { return slot_index_.size(); }

 private:
  static std::size_t slot_of(std::int64_t ms) { return static_cast<std::size_t>(ms % slots); }

  std::int64_t cursor_;  // every slot up to here has been advanced through
  std::array<std::vector<entry>, slots> wheel_;
  std::unordered_map<std::uint64_t, std::size_t> slot_index_;
};

}  // namespace agner::detail
