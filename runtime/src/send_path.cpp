#include <cstdio>
#include <functional>
#include <thread>

#include <fmt/format.h>

#include "node_state.hpp"

/// The cold half of node_state's send path (the hot half is inline in node_state.hpp), and the
/// run-queue hand-off a send ends with.
namespace agner::detail {

send_outcome node_state::refused(process* p, message* m, scheduler* local) {
  const bool rejected = p->policy() == mailbox::overflow::reject;
  destroy(m);
  if (local) {
    local->count_refused(rejected);
  } else {
    auto& o = outside_stripe();
    (rejected ? o.dropped_rejected : o.dropped_newest).fetch_add(1, std::memory_order_relaxed);
  }
  return rejected ? send_outcome::rejected : send_outcome::dropped;
}

send_outcome node_state::send_otherwise(mailbox::push_result pushed, process* p, pid to, message* m,
                                        std::uint32_t sent_ms, scheduler* local) {
  switch (pushed) {
    case mailbox::push_result::traced: return send_traced(p, to, m, sent_ms, local);
    case mailbox::push_result::closed: return dead_letter(m, local);
    case mailbox::push_result::full: return refused(p, m, local);
    case mailbox::push_result::woke_owner_past_bound:
      p->note_oldest(sent_ms);
      trim(p, to.serial, local);  // before the owner can run: the lock is free
      if (watch.on()) watch.on_send(p, to, sent_ms, true);
      schedule(p, local);
      return send_outcome::queued;
    case mailbox::push_result::queued_past_bound:
      trim(p, to.serial, local);
      if (watch.on()) watch.on_send(p, to, sent_ms, false);
      return send_outcome::queued;
    case mailbox::push_result::queued:
    case mailbox::push_result::woke_owner: break;  // handled inline by send()
  }
  return send_outcome::queued;
}

void node_state::trim(process* p, std::uint32_t serial, scheduler* local) {
  std::uint64_t dropped = 0;
  p->trim_as_sender(serial, [&](message* m) {
    destroy(m);
    ++dropped;
  });
  if (!dropped) return;
  if (local) {
    local->count_dropped_oldest(dropped);
  } else {
    outside_stripe().dropped_oldest.fetch_add(dropped, std::memory_order_relaxed);
  }
}

send_outcome node_state::dead_letter(message* m, scheduler* local) {
  destroy(m);
  if (local) {
    local->count_dead_letter();
  } else {
    outside_stripe().dead_letters.fetch_add(1, std::memory_order_relaxed);
  }
  return send_outcome::dead_letter;
}

void node_state::schedule(process* p, scheduler* local) {
  p->set_status(process_status::runnable);
  if (local) {
    local->run_next(p);
  } else {
    global.push(p);
    notify_work();
  }
}

void node_state::notify_work() noexcept {
  store_load_barrier(sleeping);
  if (spinning.load(std::memory_order_relaxed) != 0 || sleeping.load(std::memory_order_relaxed) == 0)
    return;
  unsigned none = 0;
  if (!spinning.compare_exchange_strong(none, 1, std::memory_order_seq_cst)) return;
  for (auto& s : schedulers)
    if (s->unpark()) return;  // it starts out counted as spinning
  spinning.fetch_sub(1, std::memory_order_seq_cst);
}

void node_state::log(std::string_view line) const {
  if (options.log) {
    options.log(line);
  } else {
    std::string text = fmt::format("agner: {}\n", line);
    std::fwrite(text.data(), 1, text.size(), stderr);
  }
}

outside_counters& node_state::outside_stripe() noexcept {
  thread_local const std::size_t stripe = std::hash<std::thread::id>{}(std::this_thread::get_id());
  return outside[stripe % outside.size()];
}

}  // namespace agner::detail
