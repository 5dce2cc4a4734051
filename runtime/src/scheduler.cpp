#include "scheduler.hpp"

#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <ctime>

#include <exception>

#include <fmt/format.h>

#include "node_state.hpp"

namespace agner::detail {
namespace {

thread_local scheduler* this_thread_scheduler = nullptr;
thread_local const node_state* this_thread_node = nullptr;

inline void cpu_relax() noexcept { __builtin_ia32_pause(); }

/// A parked scheduler wakes this often to take a process stuck behind a long handler (see
/// steal_stuck_next) and to look for queued work; 100 wake-ups a second cost an idle node next to
/// nothing.
constexpr std::uint64_t park_check_ns = 10'000'000;

/// Sleeps while *word == expected, at most `ns`. Raw futex: C++20's atomic wait has no timeout.
void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected, std::uint64_t ns) {
  timespec ts{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_PRIVATE, expected, &ts, nullptr, 0);
}
void futex_wake(std::atomic<std::uint32_t>& word) {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

}  // namespace

scheduler::scheduler(node_state& node, unsigned id) : node_(node), id_(id) {}

void scheduler::start() {
  started_ns_.store(now_ns(), std::memory_order_relaxed);
  thread_ = std::thread([this] { loop(); });
}

void scheduler::join() {
  if (thread_.joinable()) thread_.join();
}

scheduler* scheduler::current(const node_state& node) noexcept {
  return this_thread_node == &node ? this_thread_scheduler : nullptr;
}

void scheduler::run_next(process* p) {
  process* old = next_.exchange(p, std::memory_order_acq_rel);
  if (old) enqueue(old);
}

void scheduler::enqueue(process* p) {
  if (!queue_.push(p)) {
    overflow_.clear();
    queue_.take_half(overflow_);
    overflow_.push_back(p);
    node_.global.push(overflow_);
  }
  node_.notify_work();
}

void scheduler::requeue_after_slice(process* p) {
  if (node_.global.empty()) return enqueue(p);
  node_.global.push(p);
  node_.notify_work();
}

scheduler_counters scheduler::counters() const {
  scheduler_counters c;
  c.id = id_;
  c.run_queue_length = queue_.size() + (next_.load(std::memory_order_relaxed) ? 1 : 0);
  c.reductions = reductions_.get();
  c.context_switches = context_switches_.get();
  std::uint64_t now = now_ns();
  std::uint64_t started = started_ns_.load(std::memory_order_relaxed);
  c.wall_ns = now > started ? now - started : 0;
  std::uint64_t idle = idle_ns_.get();
  std::uint64_t since = idle_since_ns_.load(std::memory_order_relaxed);
  if (since && now > since) idle += now - since;
  c.busy_ns = c.wall_ns > idle ? c.wall_ns - idle : 0;
  if (const process* p = current_.load(std::memory_order_relaxed);
      p && p->status.load(std::memory_order_relaxed) == process_status::running) {
    c.running = pid{p->index, p->serial()};
    if (const message_type* t = handling_.load(std::memory_order_relaxed)) c.handling = demangle(t->info->name());
  }
  return c;
}

bool scheduler::unpark() noexcept {
  std::uint32_t expected = 1;
  if (!parked_.compare_exchange_strong(expected, 0, std::memory_order_acq_rel)) return false;
  futex_wake(parked_);
  return true;
}

void scheduler::loop() {
  this_thread_scheduler = this;
  this_thread_node = &node_;
  while (process* p = find_work()) run(p);
  this_thread_scheduler = nullptr;
  this_thread_node = nullptr;
}

bool scheduler::others_waiting() const noexcept {
  return !queue_.empty() || !node_.global.empty() || next_.load(std::memory_order_relaxed);
}

process* scheduler::find_work() {
  if (++tick_ % global_check_interval == 0) {
    // runtime::stop ends the loop here: what is runnable stays queued, and is discarded, not
    // drained. Within 61 activations, or at once after a slice end saw the stop (leave_soon).
    if (node_.stopping.load(std::memory_order_relaxed)) return nullptr;
    now_ms_ = coarse_ms();
    if (!node_.global.empty()) {
      if (process* p = node_.global.pop_into(queue_, 1)) {
        slice_left_ = node_.slice_reductions.load(std::memory_order_relaxed);
        return p;
      }
    }
  }
  if (process* p = next_.exchange(nullptr, std::memory_order_acquire)) {
    if (slice_left_ > 0) return p;  // inherits the rest of the slice, as Go's runnext does
    if (queue_.empty() && node_.global.empty()) {
      slice_left_ = node_.slice_reductions.load(std::memory_order_relaxed);
      return p;
    }
    enqueue(p);
  }
  slice_left_ = node_.slice_reductions.load(std::memory_order_relaxed);
  if (process* p = queue_.pop()) return p;
  if (process* p = find_elsewhere()) return p;
  return idle();
}

process* scheduler::find_elsewhere() {
  if (process* p = node_.global.pop_into(queue_, local_run_queue::capacity / 2)) return p;
  const auto n = node_.schedulers.size();
  for (std::size_t i = 1; i < n; ++i) {
    auto& victim = *node_.schedulers[(id_ + i) % n];
    if (process* p = queue_.steal_half(victim.queue_)) return p;
  }
  return nullptr;
}

/// A process waiting in another scheduler's run-next slot is left alone (that is what keeps a
/// ping-pong pair on one core) unless that scheduler has been in one activation for longer than half
/// the spin window: then its handler is long and the process is better run here.
process* scheduler::steal_stuck_next(std::uint64_t now) {
  const auto n = node_.schedulers.size();
  watched_.resize(n);
  const std::uint64_t patience =
      static_cast<std::uint64_t>(node_.options.spin_before_park.count()) * 500;
  for (std::size_t i = 0; i < n; ++i) {
    if (i == id_) continue;
    scheduler& victim = *node_.schedulers[i];
    watch& w = watched_[i];
    std::uint64_t switches = victim.context_switches_.get();
    if (switches != w.switches || w.since_ns == 0) {
      w = watch{switches, now};
    } else if (now - w.since_ns >= patience && victim.next_.load(std::memory_order_relaxed)) {
      if (process* p = victim.next_.exchange(nullptr, std::memory_order_acquire)) return p;
    }
  }
  return nullptr;
}

process* scheduler::idle() {
  current_.store(nullptr, std::memory_order_relaxed);
  handling_.store(nullptr, std::memory_order_relaxed);
  const std::uint64_t idle_start = now_ns();
  idle_since_ns_.store(idle_start, std::memory_order_relaxed);
  node_.spinning.fetch_add(1, std::memory_order_seq_cst);
  const std::uint64_t spin_ns =
      static_cast<std::uint64_t>(node_.options.spin_before_park.count()) * 1000;
  process* found = nullptr;
  std::uint64_t round_start = idle_start;
  while (!found && !node_.stopping.load(std::memory_order_acquire)) {
    for (int i = 0; i < 64 && !found; ++i) {
      found = find_elsewhere();
      cpu_relax();
    }
    if (found) break;
    std::uint64_t now = now_ns();
    if ((found = steal_stuck_next(now))) break;
    if (now - round_start < spin_ns / 2) continue;  // first half: pause
    if (now - round_start < spin_ns) {               // second half: give the core away
      sched_yield();
      continue;
    }
    node_.spinning.fetch_sub(1, std::memory_order_seq_cst);
    bool woken = park(found);
    if (!woken) node_.spinning.fetch_add(1, std::memory_order_seq_cst);
    round_start = now_ns();
  }
  std::uint64_t now = now_ns();
  idle_ns_.add(now - idle_start);
  idle_since_ns_.store(0, std::memory_order_relaxed);
  now_ms_ = coarse_ms();
  // The last scheduler to stop looking makes sure someone looks for whatever work remains.
  if (node_.spinning.fetch_sub(1, std::memory_order_seq_cst) == 1 && found) node_.notify_work();
  return found;
}

/// Sleeps until another thread unparks this scheduler. Returns true when woken by a waker (which
/// counted this scheduler as spinning for it), false when it found work or a stop on its own.
/// Meanwhile it looks now and then for a process stuck behind a long handler, and returns it in
/// `found`.
bool scheduler::park(process*& found) {
  parked_.store(1, std::memory_order_seq_cst);
  node_.sleeping.fetch_add(1, std::memory_order_seq_cst);
  store_load_barrier(node_.sleeping);
  auto queued = [&] {
    bool work = !node_.global.empty() || node_.stopping.load(std::memory_order_acquire);
    for (auto& s : node_.schedulers) work = work || !s->queue_.empty();
    return work;
  };
  // Stops parking on its own (false), unless a waker unparked it meanwhile (true: counted spinning).
  auto leave = [&] {
    std::uint32_t expected = 1;
    bool cancelled = parked_.compare_exchange_strong(expected, 0, std::memory_order_acq_rel);
    node_.sleeping.fetch_sub(1, std::memory_order_seq_cst);
    return !cancelled;
  };
  if (queued()) return leave();
  while (parked_.load(std::memory_order_acquire) == 1) {
    futex_wait(parked_, 1, park_check_ns);
    if (parked_.load(std::memory_order_acquire) == 0) break;
    if (process* p = steal_stuck_next(now_ns())) {
      found = p;
      return leave();
    }
    // Queued work with nobody to run it: a safety net, so that a wake-up lost in notify_work (none
    // is known) would cost one check period, never a stall until the next send.
    if (queued()) return leave();
  }
  node_.sleeping.fetch_sub(1, std::memory_order_seq_cst);
  return true;
}

}  // namespace agner::detail
