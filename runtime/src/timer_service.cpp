#include "timer_service.hpp"

#include <time.h>

#include <algorithm>
#include <array>
#include <stdexcept>

#include "deliver.hpp"
#include "scheduler.hpp"

namespace agner::detail {

/// Where timers start. The owner side is one scheduler's thread (or, for the last lane, any thread
/// under outside_mutex_); the inbox and the returned list are shared with the timer thread.
struct alignas(64) timer_service::lane {
  static constexpr std::uint64_t ring_size = 4096;
  explicit lane(std::uint32_t i) : index(i) {}
  timer_node* free = nullptr;
  std::uint64_t seq = 0;
  std::uint64_t young_tail = 0;  // the owner's copy of `tail`
  std::uint32_t index;
  alignas(64) std::atomic<timer_node*> inbox{nullptr};  // started, newest first
  std::atomic<timer_node*> returned{nullptr};           // freed by the timer thread, for `free`
  // The young ring: long timers in start order. One producer (the owner, at the tail); two
  // consumers (the owner and the timer thread) take from the front by compare-and-swap on `head`.
  std::atomic<std::uint64_t> head{0};
  std::atomic<std::uint64_t> tail{0};
  std::uint64_t claim_mark = 0;  // the timer thread's: the tail it saw last round
  std::unique_ptr<std::atomic<timer_node*>[]> ring;  // made by the owner before its first tail store
};

namespace {

constexpr std::uint64_t status_of(std::uint64_t state) { return state & 3; }
constexpr std::uint64_t generation_of(std::uint64_t state) { return state >> 2; }
/// Generations live in the high half of a timer id: 32 bits, never 0 (so small ids never match).
constexpr std::uint64_t next_generation(std::uint64_t g) { return (g & 0xffffffffu) == 0xffffffffu ? 1 : g + 1; }
constexpr std::uint64_t make_state(std::uint64_t g, std::uint64_t status) { return g << 2 | status; }

constexpr std::int64_t floor_ms(clock::time_point t) {
  return std::chrono::floor<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
constexpr std::int64_t ceil_ms(clock::time_point t) {
  return std::chrono::ceil<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
/// Longer delays wait this long: ~100 years, far from overflowing a time point.
constexpr clock::duration max_delay = std::chrono::hours(24 * 365 * 100);

}  // namespace

timer_service::timer_service(deliver_hook& deliver, std::size_t lanes, std::shared_ptr<clock> clk)
    : deliver_(deliver),
      clock_(std::move(clk)),
      steady_(dynamic_cast<const steady_clock*>(clock_.get()) != nullptr),
      manual_(clock_->manual()),
      wheel_(floor_ms(clock_->now())),
      next_wake_(clock_->manual() ? INT64_MIN : INT64_MAX) {
  timespec res{};
  clock_getres(CLOCK_MONOTONIC_COARSE, &res);
  coarse_resolution_ = std::chrono::seconds(res.tv_sec) + std::chrono::nanoseconds(res.tv_nsec);
  const std::size_t count = lanes;
  for (std::size_t i = 0; i < count; ++i) lanes_.push_back(std::make_unique<lane>(static_cast<std::uint32_t>(i)));
  released_.resize(count);
  if (clock_->manual()) {
    subscription_ = static_cast<manual_clock&>(*clock_).subscribe([this](clock::time_point now) {
      std::lock_guard work(work_mutex_);
      fire_due(floor_ms(now));
    });
  } else {
    thread_ = std::thread([this] { loop(); });
  }
}

timer_service::~timer_service() {
  if (subscription_) static_cast<manual_clock&>(*clock_).unsubscribe(subscription_);
  {
    std::lock_guard sleep(sleep_mutex_);
    stopping_ = true;
  }
  sleep_.notify_all();
  if (thread_.joinable()) thread_.join();
  // Nobody starts or cancels any more: destroy what pending timers still own.
  auto drop = [](timer_node* n) {
    if (status_of(n->state.load(std::memory_order_relaxed)) == timer_node::pending) destroy(n->msg);
  };
  for (timer_node* n = staging_; n; n = n->next) drop(n);
  for (auto& l : lanes_) {
    for (timer_node* n = l->inbox.load(std::memory_order_acquire); n; n = n->next) drop(n);
    for (std::uint64_t i = l->head.load(std::memory_order_acquire); i < l->young_tail; ++i)
      drop(l->ring[i & (lane::ring_size - 1)].load(std::memory_order_relaxed));
  }
  wheel_.clear(drop);
  if (auto* table = chunks_.load(std::memory_order_relaxed)) {
    for (std::uint32_t c = 0; c < chunk_count_; ++c) delete[] table[c].load(std::memory_order_relaxed);
    delete[] table;
  }
}

clock::time_point timer_service::now() const {
  if (steady_) return std::chrono::time_point_cast<clock::duration>(std::chrono::steady_clock::now());
  return clock_->now();
}

clock::time_point timer_service::coarse_now() const {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return clock::time_point(std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec)) +
         coarse_resolution_;
}

std::int64_t timer_service::deadline_ms(clock::duration delay) const {
  delay = std::clamp(delay, clock::duration::zero(), max_delay);
  // A long delay reads the coarse clock (a few ns instead of a few dozen) and adds its resolution,
  // so that the timer still never fires early: it may fire that much later, a few percent at most.
  return ceil_ms((steady_ && delay >= long_from ? coarse_now() : now()) + delay);
}

std::uint64_t timer_service::start(clock::duration delay, pid to, message* m, scheduler* local) {
  delay = std::clamp(delay, clock::duration::zero(), max_delay);
  const std::int64_t deadline = deadline_ms(delay);
  // Young timers wait for the timer thread's rounds: with a manual clock there are none.
  if (!local || delay < long_from || manual_) return start_node(deadline, false, deadline, to, m, local);
  // A young timer needs the timer thread to look at it within a round or two.
  const std::int64_t started_ms = deadline - std::chrono::ceil<std::chrono::milliseconds>(delay).count();
  return start_node(deadline, true, started_ms + sweep_ms, to, m, local);
}

std::uint64_t timer_service::start_at(std::int64_t deadline, pid to, message* m, scheduler* local) {
  return start_node(deadline, false, deadline, to, m, local);
}

std::uint64_t timer_service::start_node(std::int64_t deadline, bool young, std::int64_t wake_by, pid to, message* m,
                                        scheduler* local) {
  lane& l = local ? *lanes_[local->id()] : *lanes_.back();
  std::unique_lock<std::mutex> outside;
  if (!local) outside = std::unique_lock(outside_mutex_);
  timer_node* n = take_node(l);
  const std::uint64_t generation = generation_of(n->state.load(std::memory_order_relaxed));
  n->deadline_ms = deadline;
  n->seq = l.seq++;
  n->to = to;
  n->msg = m;
  const std::uint64_t id = generation << 32 | (n->index + 1);
  n->state.store(make_state(generation, timer_node::pending), std::memory_order_release);
  if (young) {
    push_young(l, n);
  } else {
    push_inbox(l, n);
  }
  if (outside) outside.unlock();
  // Wake the timer thread only if it would sleep past wake_by. (seq_cst: either it sees this
  // timer, or this sees its new time.)
  if (wake_by < next_wake_.load(std::memory_order_seq_cst)) [[unlikely]]
    wake_for(wake_by);
  return id;
}

void timer_service::push_inbox(lane& l, timer_node* n) {
  timer_node* head = l.inbox.load(std::memory_order_relaxed);
  do {
    n->next = head;
  } while (!l.inbox.compare_exchange_weak(head, n, std::memory_order_seq_cst, std::memory_order_relaxed));
}

void timer_service::push_young(lane& l, timer_node* n) {
  constexpr std::uint64_t mask = lane::ring_size - 1;
  std::uint64_t h = l.head.load(std::memory_order_acquire);
  // Free a few cancelled timers at the front (requests answered): as many as come in, on average.
  for (int k = 0; k < 4 && h != l.young_tail; ++k) {
    timer_node* front = l.ring[h & mask].load(std::memory_order_relaxed);
    if (status_of(front->state.load(std::memory_order_acquire)) != timer_node::cancelled) break;
    if (l.head.compare_exchange_strong(h, h + 1, std::memory_order_acq_rel, std::memory_order_acquire)) {
      recycle(l, front);
      ++h;
    }  // else the timer thread took it: h is the new front
  }
  if (!l.ring) l.ring = std::make_unique<std::atomic<timer_node*>[]>(lane::ring_size);
  while (l.young_tail - h == lane::ring_size) {  // full: the front goes on to the timer thread
    timer_node* front = l.ring[h & mask].load(std::memory_order_relaxed);
    if (l.head.compare_exchange_strong(h, h + 1, std::memory_order_acq_rel, std::memory_order_acquire)) {
      push_inbox(l, front);
      ++h;
    }
  }
  l.ring[l.young_tail & mask].store(n, std::memory_order_relaxed);
  l.tail.store(++l.young_tail, std::memory_order_seq_cst);
}

void timer_service::recycle(lane& l, timer_node* n) {
  const std::uint64_t s = n->state.load(std::memory_order_relaxed);
  n->state.store(make_state(next_generation(generation_of(s)), timer_node::free), std::memory_order_relaxed);
  n->next = l.free;
  l.free = n;
}

timer_node* timer_service::take_node(lane& l) {
  if (!l.free) [[unlikely]] {
    l.free = l.returned.exchange(nullptr, std::memory_order_acquire);
    if (!l.free) grow(l);
  }
  timer_node* n = l.free;
  l.free = n->next;
  return n;
}

void timer_service::grow(lane& l) {
  std::lock_guard lock(chunk_mutex_);
  if (chunk_count_ == max_chunks)
    throw std::length_error("too many pending timers: the limit is 16,777,216 per runtime");
  auto* c = new timer_node[chunk_nodes];
  for (std::uint32_t i = 0; i < chunk_nodes; ++i) {
    c[i].index = chunk_count_ * chunk_nodes + i;
    c[i].home = l.index;
    c[i].state.store(make_state(1, timer_node::free), std::memory_order_relaxed);
    c[i].next = i + 1 < chunk_nodes ? &c[i + 1] : nullptr;
  }
  auto* table = chunks_.load(std::memory_order_relaxed);
  if (!table) {  // made on first use: a runtime without timers pays nothing for them
    table = new std::atomic<timer_node*>[max_chunks]();
    chunks_.store(table, std::memory_order_release);
  }
  table[chunk_count_].store(c, std::memory_order_release);
  ++chunk_count_;
  l.free = c;
}

timer_node* timer_service::node_at(std::uint64_t id) const noexcept {
  const std::uint64_t low = id & 0xffffffffu;
  if (low == 0) return nullptr;
  const std::uint64_t index = low - 1;
  if (index / chunk_nodes >= max_chunks) return nullptr;
  const auto* table = chunks_.load(std::memory_order_acquire);
  if (!table) return nullptr;
  timer_node* c = table[index / chunk_nodes].load(std::memory_order_acquire);
  return c ? &c[index % chunk_nodes] : nullptr;
}

bool timer_service::cancel(std::uint64_t id) {
  timer_node* n = node_at(id);
  if (!n) return false;
  const std::uint64_t generation = id >> 32;
  std::uint64_t expected = make_state(generation, timer_node::pending);
  // `cancelling` holds the node while its message is taken: the timer thread waits for `cancelled`
  // before it frees the node, so the message read here is this timer's, not a reuse's.
  if (!n->state.compare_exchange_strong(expected, make_state(generation, timer_node::cancelling),
                                        std::memory_order_acquire, std::memory_order_relaxed))
    return false;
  message* m = n->msg;
  n->state.store(make_state(generation, timer_node::cancelled), std::memory_order_release);
  destroy(m);
  return true;
}

void timer_service::wake_for(std::int64_t wake_by) {
  std::int64_t w = next_wake_.load(std::memory_order_seq_cst);
  while (wake_by < w) {
    if (next_wake_.compare_exchange_weak(w, wake_by, std::memory_order_seq_cst)) {
      { std::lock_guard sleep(sleep_mutex_); }  // the sleeper checks next_wake_ under this lock
      sleep_.notify_one();
      return;
    }
  }
}

// --- the owner side: the timer thread, or a manual clock's advance; under work_mutex_ -----------

bool timer_service::settle_cancelled(timer_node* n) {
  std::uint64_t s = n->state.load(std::memory_order_acquire);
  while (status_of(s) == timer_node::cancelling) {  // a cancel is taking the message: a moment
    std::this_thread::yield();
    s = n->state.load(std::memory_order_acquire);
  }
  return status_of(s) == timer_node::cancelled;
}

void timer_service::release(timer_node* n) {
  const std::uint64_t s = n->state.load(std::memory_order_relaxed);
  if (status_of(s) != timer_node::free)
    n->state.store(make_state(next_generation(generation_of(s)), timer_node::free), std::memory_order_relaxed);
  free_chain& c = released_[n->home];
  n->next = c.head;
  c.head = n;
  if (!c.tail) c.tail = n;
}

void timer_service::return_released() {
  for (std::size_t i = 0; i < released_.size(); ++i) {
    free_chain& c = released_[i];
    if (!c.head) continue;
    auto& returned = lanes_[i]->returned;
    timer_node* head = returned.load(std::memory_order_relaxed);
    do {
      c.tail->next = head;
    } while (!returned.compare_exchange_weak(head, c.head, std::memory_order_release, std::memory_order_relaxed));
    c = {};
  }
}

void timer_service::take_in(timer_node* n, std::int64_t now, drained& d) {
  d.any = true;
  if (settle_cancelled(n)) return release(n);  // answered in time: it never reaches the wheel
  d.earliest = std::min(d.earliest, n->deadline_ms);
  if (n->deadline_ms > now + 2 * sweep_ms) {  // far off: give a cancel one more round first
    n->next = staging_;
    staging_ = n;
  } else {
    wheel_.add(n);
  }
}

void timer_service::claim_young(lane& l, std::int64_t now, drained& d) {
  constexpr std::uint64_t mask = lane::ring_size - 1;
  constexpr std::uint64_t batch = 256;
  std::array<timer_node*, batch> taken;
  // What was in the ring a round ago has outlived its owner's look at the front: take it on.
  std::uint64_t h = l.head.load(std::memory_order_acquire);
  while (h < l.claim_mark) {
    const std::uint64_t k = std::min(batch, l.claim_mark - h);
    // Read before claiming: once `head` moves on, the owner may refill these slots.
    for (std::uint64_t i = 0; i < k; ++i) taken[i] = l.ring[(h + i) & mask].load(std::memory_order_relaxed);
    if (!l.head.compare_exchange_strong(h, h + k, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
    for (std::uint64_t i = 0; i < k; ++i) take_in(taken[i], now, d);
    h += k;
  }
  l.claim_mark = l.tail.load(std::memory_order_seq_cst);
  if (l.claim_mark != std::max(h, l.head.load(std::memory_order_acquire))) d.any = true;  // look again soon
}

timer_service::drained timer_service::drain_inboxes(std::int64_t now) {
  drained d;
  for (auto& l : lanes_) {
    for (timer_node* n = l->inbox.exchange(nullptr, std::memory_order_seq_cst); n;) {
      timer_node* following = n->next;
      take_in(n, now, d);
      n = following;
    }
    claim_young(*l, now, d);
  }
  return d;
}

timer_service::drained timer_service::fire_due(std::int64_t now) {
  for (timer_node* n = staging_; n;) {
    timer_node* following = n->next;
    if (settle_cancelled(n)) {
      release(n);
    } else {
      wheel_.add(n);
    }
    n = following;
  }
  staging_ = nullptr;
  const drained d = drain_inboxes(now);
  auto due = [this](timer_node* n) {
    std::uint64_t s = n->state.load(std::memory_order_relaxed);
    while (status_of(s) == timer_node::pending) {
      // Firing and cancelling race on this one word: exactly one of them wins.
      if (n->state.compare_exchange_weak(s, make_state(next_generation(generation_of(s)), timer_node::free),
                                         std::memory_order_acquire, std::memory_order_relaxed)) {
        due_.push_back({n->deadline_ms, n->seq, n->to, n->msg});
        return release(n);
      }
    }
    settle_cancelled(n);
    release(n);
  };
  wheel_.advance(now, due, [this](timer_node* n) { return !settle_cancelled(n); },
                 [this](timer_node* n) { release(n); });
  return_released();
  std::sort(due_.begin(), due_.end(), [](const due_timer& a, const due_timer& b) {
    return a.deadline_ms != b.deadline_ms ? a.deadline_ms < b.deadline_ms : a.seq < b.seq;
  });
  for (const due_timer& e : due_) {
    if (!deliver_.alive(e.to)) {  // its target died: the timer died with it
      destroy(e.msg);
      dropped_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    deliver_.deliver(e.to, e.msg);
  }
  due_.clear();
  return d;
}

void timer_service::loop() {
  for (;;) {
    std::int64_t planned;
    {
      std::lock_guard work(work_mutex_);
      for (;;) {
        const std::int64_t now = floor_ms(this->now());
        const drained in = fire_due(now);
        planned = wheel_.next_wake().value_or(INT64_MAX);
        if (in.any || staging_) planned = std::min(planned, now + sweep_ms);  // timers coming in: look again soon
        next_wake_.store(planned, std::memory_order_seq_cst);
        // What was started before that store is in an inbox now; what is started after it sees it.
        const drained late = drain_inboxes(now);
        return_released();
        if (late.earliest < planned || (late.any && planned > now + sweep_ms)) continue;
        break;
      }
    }
    std::unique_lock sleep(sleep_mutex_);
    auto woken = [&] { return stopping_ || next_wake_.load(std::memory_order_seq_cst) < planned; };
    if (planned == INT64_MAX) {
      sleep_.wait(sleep, woken);
    } else {
      sleep_.wait_until(sleep, std::chrono::steady_clock::time_point(std::chrono::milliseconds(planned)), woken);
    }
    if (stopping_) return;
  }
}

}  // namespace agner::detail
