#include "scheduler.hpp"

#include <sched.h>

#include <exception>

#include <fmt/format.h>

#include "node_state.hpp"

namespace agner::detail {
namespace {

thread_local scheduler* this_thread_scheduler = nullptr;
thread_local const node_state* this_thread_node = nullptr;

inline void cpu_relax() noexcept { __builtin_ia32_pause(); }

constexpr std::uint32_t global_check_interval = 61;  // ticks between looks at the global queue

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

void scheduler::add_reductions(process* p, std::uint64_t n) noexcept {
  p->reductions.add(n);
  reductions_.add(n);
  slice_left_ = n >= slice_left_ ? 0 : slice_left_ - static_cast<std::uint32_t>(n);
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
  return c;
}

bool scheduler::unpark() noexcept {
  std::uint32_t expected = 1;
  if (!parked_.compare_exchange_strong(expected, 0, std::memory_order_acq_rel)) return false;
  parked_.notify_one();
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
  if (++tick_ % global_check_interval == 0 && !node_.global.empty()) {
    if (process* p = node_.global.pop_into(queue_, 1)) {
      slice_left_ = node_.options.slice_reductions;
      return p;
    }
  }
  if (process* p = next_.exchange(nullptr, std::memory_order_acquire)) {
    if (slice_left_ > 0) return p;  // inherits the rest of the slice, as Go's runnext does
    if (queue_.empty() && node_.global.empty()) {
      slice_left_ = node_.options.slice_reductions;
      return p;
    }
    enqueue(p);
  }
  slice_left_ = node_.options.slice_reductions;
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
    bool woken = park();
    if (!woken) node_.spinning.fetch_add(1, std::memory_order_seq_cst);
    round_start = now_ns();
  }
  std::uint64_t now = now_ns();
  idle_ns_.add(now - idle_start);
  idle_since_ns_.store(0, std::memory_order_relaxed);
  // The last scheduler to stop looking makes sure someone looks for whatever work remains.
  if (node_.spinning.fetch_sub(1, std::memory_order_seq_cst) == 1 && found) node_.notify_work();
  return found;
}

/// Sleeps until another thread unparks this scheduler. Returns true when woken by a waker (which
/// counted this scheduler as spinning for it), false when it found work or a stop on its own.
bool scheduler::park() {
  parked_.store(1, std::memory_order_seq_cst);
  node_.sleeping.fetch_add(1, std::memory_order_seq_cst);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  bool work = !node_.global.empty() || node_.stopping.load(std::memory_order_acquire);
  for (auto& s : node_.schedulers) work = work || !s->queue_.empty();
  if (work) {
    std::uint32_t expected = 1;
    bool cancelled = parked_.compare_exchange_strong(expected, 0, std::memory_order_acq_rel);
    node_.sleeping.fetch_sub(1, std::memory_order_seq_cst);
    return !cancelled;
  }
  while (parked_.load(std::memory_order_acquire) == 1) parked_.wait(1, std::memory_order_acquire);
  node_.sleeping.fetch_sub(1, std::memory_order_seq_cst);
  return true;
}

void scheduler::run(process* p) {
  context_switches_.add();
  p->set_status(process_status::running);
  context ctx(&node_.rt, p, this);
  behaviour& code = *p->code;
  auto crash = [&](const char* what) {
    if (!p->exit_reason) p->exit_reason = std::make_unique<std::string>(what);
    p->crashed = true;
    node_.log(fmt::format("process {}{} crashed: {}", p->id(),
                          p->registered ? fmt::format(" ({})", node_.name_of_process(p->index)) : "",
                          what));
  };
  auto guarded = [&](auto&& call) {
    try {
      call();
    } catch (const std::exception& e) {
      crash(e.what());
    } catch (...) {
      crash("unknown exception");
    }
  };
  if (p->init) {
    init_fn init = p->init;
    p->init = nullptr;
    guarded([&] { init(code, ctx); });
  }
  const std::uint32_t serial = p->serial();
  while (!p->exit_reason) {
    message* m = p->pop();
    if (!m) {
      p->set_status(process_status::waiting);
      if (p->try_block()) return;  // idle now; a sender may already have it running elsewhere
      p->set_status(process_status::running);
      continue;
    }
    if (m->target_serial != serial) {  // sent to an earlier owner of this slot
      dead_letters_.add();
      destroy(m);
      continue;
    }
    delivered_.add();
    p->received.add();
    add_reductions(p, 1);
    guarded([&] { code.handle(ctx, *m); });
    destroy(m);
    if (slice_left_ == 0 && !p->exit_reason) {
      if (others_waiting()) {
        p->set_status(process_status::runnable);
        enqueue(p);
        return;
      }
      slice_left_ = node_.options.slice_reductions;
    }
  }
  terminate(p);
}

void scheduler::terminate(process* p) {
  p->set_status(process_status::exiting);
  const std::string& reason = *p->exit_reason;
  if (!p->crashed && reason != "normal" && reason != "shutdown") {  // crashes were logged already
    node_.log(fmt::format("process {}{} exited: {}", p->id(),
                          p->registered ? fmt::format(" ({})", node_.name_of_process(p->index)) : "",
                          reason));
  }
  if (p->registered) node_.unregister(p->index);
  std::uint64_t dropped = 0;
  for (message* m = p->close(); m;) {
    message* next = m->next;
    destroy(m);
    ++dropped;
    m = next;
  }
  dead_letters_.add(dropped);
  delete p->code;
  p->code = nullptr;
  p->exit_reason.reset();
  p->crashed = false;
  node_.table.release(p);
}

}  // namespace agner::detail
