#include "queue_watch.hpp"

#include <algorithm>
#include <stdexcept>

#include "coarse_clock.hpp"

namespace agner::detail {

void queue_watch::set_notify(std::function<void(const queue_event&)> notify) {
  std::lock_guard lock(mutex_);
  if (watching_.load(std::memory_order_relaxed))
    throw std::logic_error("watch_queues while a queue-watch threshold is set: call set_queue_watch(0, 0, 0, 0) first");
  notify_ = std::move(notify);
}

void queue_watch::set(std::uint32_t long_len, std::uint32_t short_len, std::uint32_t old_ms, std::uint32_t young_ms) {
  std::lock_guard lock(mutex_);
  if (!notify_) throw std::logic_error("set_queue_watch before watch_queues");
  long_.store(long_len, std::memory_order_relaxed);
  short_.store(std::min(short_len, long_len ? long_len - 1 : 0u), std::memory_order_relaxed);
  old_ms_.store(old_ms, std::memory_order_relaxed);
  young_ms_.store(std::min(young_ms, old_ms ? old_ms - 1 : 0u), std::memory_order_relaxed);
  watching_.store(long_len != 0 || old_ms != 0, std::memory_order_release);
}

void queue_watch::on_send(process* p, pid to, std::uint32_t now_ms, bool woke) {
  const std::uint8_t flags = p->watch_flags();
  if (const auto long_len = long_.load(std::memory_order_relaxed); long_len && !(flags & mailbox::watch_long)) {
    const auto len = p->length();
    if (len >= long_len && p->raise_watch_flag(mailbox::watch_long)) notify_({to, queue_event::kind::long_queue, len});
  }
  if (const auto old_ms = old_ms_.load(std::memory_order_relaxed); old_ms && !(flags & mailbox::watch_old)) {
    const auto age = age_ms(p->oldest_ms(), now_ms);
    if (age >= old_ms && p->length() > (woke ? 1u : 0u) && p->raise_watch_flag(mailbox::watch_old))
      notify_({to, queue_event::kind::old_message, age});
  }
}

void queue_watch::on_owner(process* p, std::uint32_t now_ms, bool ending) {
  const std::uint8_t flags = p->watch_flags();
  if (!flags) return;
  const pid who{p->index, p->serial()};
  if (flags & mailbox::watch_long) {
    const auto len = ending ? 0 : p->length();
    if (len <= short_.load(std::memory_order_relaxed) && p->drop_watch_flag(mailbox::watch_long))
      notify_({who, queue_event::kind::short_again, len});
  }
  if (flags & mailbox::watch_old) {
    const auto age = ending || p->length() == 0 ? 0 : age_ms(p->oldest_ms(), now_ms);
    if (age <= young_ms_.load(std::memory_order_relaxed) && p->drop_watch_flag(mailbox::watch_old))
      notify_({who, queue_event::kind::young_again, age});
  }
}

}  // namespace agner::detail
