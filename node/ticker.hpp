#pragma once
// A thread that runs a function every period until stopped: the alarm engine's tick.
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace agner::node {

class ticker {
 public:
  /// Starts the thread: it waits `period()` (asked again before each wait, so a reload may change
  /// it), runs `each`, and so on. `each` must not throw.
  ticker(std::function<std::chrono::milliseconds()> period, std::function<void()> each);
  ~ticker();  ///< stop()
  ticker(const ticker&) = delete;
  ticker& operator=(const ticker&) = delete;
  /// Lets a run of `each` in progress finish and ends the thread. Idempotent; call it from one thread.
  void stop();

 private:
  std::function<std::chrono::milliseconds()> period_;
  std::function<void()> each_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace agner::node
