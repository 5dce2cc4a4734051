#pragma once
// The thread rules reloads run on, so that neither the attach server's thread nor the signal path
// ever waits on a file, and reloads asked for while one is pending merge into it.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace agner::node {

class reload_thread {
 public:
  /// `reload` does one reload and returns its errors (empty on success); an exception it throws
  /// becomes one error line and a log line. `log` must be thread-safe. Starts the thread.
  reload_thread(std::function<std::vector<std::string>()> reload, std::function<void(std::string_view)> log);
  ~reload_thread();  ///< stop()
  reload_thread(const reload_thread&) = delete;
  reload_thread& operator=(const reload_thread&) = delete;

  /// Asks for a reload and returns at once (SIGHUP). Requests made while one is pending are merged.
  /// Thread-safe.
  void request();
  /// Asks for a reload and waits at most `wait` for one that began after the request: its errors,
  /// or one line saying it is still running (its outcome is then logged). Thread-safe.
  std::vector<std::string> run(std::chrono::milliseconds wait);
  /// Lets a reload in progress finish and ends the thread. Idempotent; call it from one thread.
  void stop();

 private:
  std::function<std::vector<std::string>()> reload_;
  std::function<void(std::string_view)> log_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  // Requests are numbered; a reload serves every request made before it began.
  std::uint64_t requested_ = 0, started_ = 0, finished_ = 0;
  std::vector<std::string> result_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace agner::node
