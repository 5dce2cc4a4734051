#include "ticker.hpp"

namespace agner::node {

ticker::ticker(std::function<std::chrono::milliseconds()> period, std::function<void()> each)
    : period_(std::move(period)), each_(std::move(each)) {
  thread_ = std::thread([this] {
    std::unique_lock lock(mutex_);
    for (;;) {
      if (wake_.wait_for(lock, period_(), [this] { return stopping_; })) return;
      lock.unlock();
      each_();
      lock.lock();
    }
  });
}

ticker::~ticker() { stop(); }

void ticker::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace agner::node
