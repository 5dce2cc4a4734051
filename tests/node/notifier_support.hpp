#pragma once
/// The lines a notifier logged, for tests: filled from its log callback (any thread), read by the test.
#include <mutex>
#include <string>
#include <vector>

namespace agner::test {

struct log_lines {
  std::mutex mutex;
  std::vector<std::string> lines;
  /// Whether any line holds `part`.
  bool has(const std::string& part) {
    std::lock_guard lock(mutex);
    for (auto& l : lines)
      if (l.find(part) != std::string::npos) return true;
    return false;
  }
};

}  // namespace agner::test
