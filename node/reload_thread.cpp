#include "reload_thread.hpp"

#include <exception>

#include <fmt/format.h>

namespace agner::node {

reload_thread::reload_thread(std::function<std::vector<std::string>()> reload, std::function<void(std::string_view)> log)
    : reload_(std::move(reload)), log_(std::move(log)) {
  thread_ = std::thread([this] {
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait(lock, [this] { return stopping_ || requested_ > started_; });
      if (stopping_) return;
      started_ = requested_;
      lock.unlock();
      std::vector<std::string> result;
      try {
        result = reload_();
      } catch (const std::exception& e) {  // a thread boundary: never take the node down
        result = {fmt::format("the reload failed: {}", e.what())};
        log_(fmt::format("rules reload failed; the old rules stay in force: {}", e.what()));
      }
      lock.lock();
      result_ = std::move(result);
      finished_ = started_;
      done_.notify_all();
    }
  });
}

reload_thread::~reload_thread() { stop(); }

void reload_thread::request() {
  {
    std::lock_guard lock(mutex_);
    ++requested_;
  }
  wake_.notify_one();
}

std::vector<std::string> reload_thread::run(std::chrono::milliseconds wait) {
  std::unique_lock lock(mutex_);
  const auto mine = ++requested_;
  wake_.notify_one();
  if (!done_.wait_for(lock, wait, [&] { return finished_ >= mine; })) {
    log_(fmt::format("rules reload: still running after {} ms; its outcome will be logged", wait.count()));
    return {fmt::format("the reload is still running after {} ms; its outcome will be logged", wait.count())};
  }
  return result_;
}

void reload_thread::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();  // a reload of a bounded file, a notifier's bounded stop
}

}  // namespace agner::node
