#pragma once
// Helpers shared by the runtime tests.
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "agner/runtime/runtime.hpp"

namespace agner::test {

/// Waits for a condition another thread will make true, sleeping briefly between polls. The deadline is a bound
/// on a hang, not a timing assertion: it is far above anything a correct runtime needs.
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::seconds deadline = std::chrono::seconds(60)) {
  auto end = std::chrono::steady_clock::now() + deadline;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > end) return false;
    // A short sleep, not a spin: a spinning waiter takes a core from the threads it waits for
    // (two cores here), and a poll every 200 µs is far finer than anything the tests wait on.
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return true;
}

/// Collects the runtime's log lines.
struct captured_log {
  std::mutex mutex;
  std::vector<std::string> lines;
  std::function<void(std::string_view)> sink() {
    return [this](std::string_view line) {
      std::lock_guard lock(mutex);
      lines.emplace_back(line);
    };
  }
  std::vector<std::string> snapshot() {
    std::lock_guard lock(mutex);
    return lines;
  }
  /// Whether a line so far holds `text`.
  bool contains(std::string_view text) {
    std::lock_guard lock(mutex);
    for (auto& l : lines)
      if (l.find(text) != std::string::npos) return true;
    return false;
  }
};

inline runtime_options two_schedulers() {
  runtime_options o;
  o.schedulers = 2;
  return o;
}

}  // namespace agner::test
