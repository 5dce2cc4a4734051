#include "timer_service.hpp"

#include <vector>

#include "node_state.hpp"

namespace agner::detail {

timer_service::timer_service(node_state& node, std::shared_ptr<clock> clk)
    : node_(node), clock_(std::move(clk)), wheel_(to_ms(clock_->now())) {
  if (clock_->manual()) {
    subscription_ = static_cast<manual_clock&>(*clock_).subscribe([this](clock::time_point now) { fire_due(now); });
  } else {
    thread_ = std::thread([this] { loop(); });
  }
}

timer_service::~timer_service() {
  if (subscription_) static_cast<manual_clock&>(*clock_).unsubscribe(subscription_);
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::int64_t timer_service::to_ms(clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

std::uint64_t timer_service::start(clock::duration delay, pid to, message* m) {
  // Round the deadline up: a timer never fires early.
  auto deadline = clock_->now() + delay;
  std::int64_t ms = to_ms(deadline);
  if (clock::time_point(std::chrono::milliseconds(ms)) < deadline) ++ms;
  std::uint64_t id;
  {
    std::lock_guard lock(mutex_);
    id = next_id_++;
    wheel_.add({id, ms, to, m});
  }
  wake_.notify_one();
  return id;
}

bool timer_service::cancel(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  return wheel_.cancel(id);
}

std::size_t timer_service::pending() const {
  std::lock_guard lock(mutex_);
  return wheel_.size();
}

void timer_service::fire_due(clock::time_point now) {
  std::vector<timer_wheel::entry> due;
  {
    std::lock_guard lock(mutex_);
    wheel_.advance(to_ms(now), due);
  }
  for (auto& e : due) {
    const process* p = node_.table.slot(e.to.index);
    if (!p || p->serial() != e.to.serial) {  // its target died: the timer died with it
      destroy(e.msg);
      dropped_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    node_.send(e.to, e.msg, nullptr);
  }
}

void timer_service::loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (auto next = wheel_.next_wake()) {
      wake_.wait_until(lock, std::chrono::steady_clock::time_point(std::chrono::milliseconds(*next)));
    } else {
      wake_.wait(lock);
    }
    if (stopping_) break;
    lock.unlock();
    fire_due(clock_->now());
    lock.lock();
  }
}

}  // namespace agner::detail
