#pragma once
/// A scheduler: one thread, its own run queue, stealing from the others when it runs dry.
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "agner/snapshot/counters.hpp"
#include "coarse_clock.hpp"
#include "counter.hpp"
#include "process.hpp"
#include "run_queue.hpp"

namespace agner::detail {

struct node_state;

class scheduler {
 public:
  scheduler(node_state& node, unsigned id);
  scheduler(const scheduler&) = delete;
  scheduler& operator=(const scheduler&) = delete;

  void start();
  void join();

  /// Its number, 0 to schedulers - 1. Any thread.
  unsigned id() const noexcept { return id_; }
  /// The scheduler whose thread is calling, if it belongs to `node`; else nullptr.
  static scheduler* current(const node_state& node) noexcept;

  /// This scheduler's thread only: makes `p` (just woken by a send from here) run next.
  void run_next(process* p);
  /// This scheduler's thread only: queues `p` behind the other runnable processes.
  void enqueue(process* p);
  /// This scheduler's thread only: `p` used up its slice and others wait. It goes behind all of them:
  /// behind the global queue's too when that holds any (they overflowed from a local queue, so they
  /// waited longer than the local queue's), so that a producer cannot run again ahead of the
  /// processes its sends woke.
  void requeue_after_slice(process* p);

  /// This scheduler's thread only: handler-side counters.
  void count_sent() noexcept {
    sent_.add();
    if ((sent_.get() & (sends_per_charge - 1)) == 0) [[unlikely]] charge_sends();
  }
  /// Sends cost the sender's slice, as in Erlang, but in blocks so that the common send pays
  /// nothing: every sends_per_charge-th send from this scheduler takes send_charge reductions from
  /// the running process's slice (not from its reduction counters). A publisher fanning an event out
  /// to 10,000 subscribers ends its slice after about one event and lets them run, instead of
  /// queueing up to a slice's worth (2,000) of events ahead of them.
  static constexpr std::uint64_t sends_per_charge = 1024;
  static constexpr std::uint32_t send_charge = 256;
  void charge_sends() noexcept {
    now_ms_ = coarse_ms();  // a handler that sends a lot stays current
    slice_left_ = slice_left_ > send_charge ? slice_left_ - send_charge : 0;
  }
  /// The coarse clock as of this scheduler's last look (refreshed every 61 activations, every 1024
  /// sends and after idling): what a message sent from here is stamped with.
  std::uint32_t now_ms() const noexcept { return now_ms_; }
  void count_dead_letter(std::uint64_t n = 1) noexcept { dead_letters_.add(n); }
  void count_refused(bool rejected) noexcept { (rejected ? dropped_rejected_ : dropped_newest_).add(); }
  void count_dropped_oldest(std::uint64_t n) noexcept { dropped_oldest_.add(n); }
  void add_reductions(process* p, std::uint64_t n) noexcept {
    p->reductions.add(n);
    reductions_.add(n);
    slice_left_ = n >= slice_left_ ? 0 : slice_left_ - static_cast<std::uint32_t>(n);
  }

  /// Any thread.
  scheduler_counters counters() const;
  std::uint64_t sent() const noexcept { return sent_.get(); }
  std::uint64_t delivered() const noexcept { return delivered_.get(); }
  std::uint64_t dead_letters() const noexcept { return dead_letters_.get(); }
  std::uint64_t late_replies() const noexcept { return late_replies_.get(); }
  std::uint64_t unhandled() const noexcept { return unhandled_.get(); }
  /// This scheduler's thread only (context::unhandled).
  void count_unhandled() noexcept { unhandled_.add(); }
  std::uint64_t dropped_rejected() const noexcept { return dropped_rejected_.get(); }
  std::uint64_t dropped_newest() const noexcept { return dropped_newest_.get(); }
  std::uint64_t dropped_oldest() const noexcept { return dropped_oldest_.get(); }
  std::uint64_t minor_gcs() const noexcept { return minor_gcs_.get(); }
  std::uint64_t major_gcs() const noexcept { return major_gcs_.get(); }
  std::uint64_t gc_reclaimed() const noexcept { return gc_reclaimed_.get(); }

  /// This scheduler's thread: the process whose handler (or exit) it runs now, or the last one.
  const process* running() const noexcept { return current_.load(std::memory_order_relaxed); }

  /// Any thread: if parked, wake it. True if this call woke it.
  bool unpark() noexcept;

  local_run_queue& queue() noexcept { return queue_; }

  /// Activations between looks at the global queue and at runtime::stop.
  static constexpr std::uint32_t global_check_interval = 61;

 private:
  void loop();
  process* find_work();
  process* find_elsewhere();
  process* steal_stuck_next(std::uint64_t now);
  process* idle();
  bool park(process*& found);
  // process_lifecycle.cpp
  void run(process* p);
  template <bool drops_oldest>
  void run_as(process* p);
  message* on_signal(process* p, message* m);
  bool apply_on_arrival(process* p, message* m, std::uint32_t serial);
  void terminate(process* p, bool unlock_consumer);
  // call.cpp
  bool settle_call(process* p, message* m);
  [[gnu::noinline]] bool idle_or_resume(process* p, bool locks);
  void resume_call(process* p);
  void run_awaited(process* p);
  void tend(process* p);
  process_report report(process* p, const inspect_options& opts);
  enum class gc_kind { automatic, requested, hibernate };
  void collect(process* p, gc_kind kind);
  bool others_waiting() const noexcept;
  /// The next find_work looks at the global queue and the stop flag (runtime::stop is under way).
  void leave_soon() noexcept { tick_ += global_check_interval - 1 - tick_ % global_check_interval; }

  node_state& node_;
  unsigned id_;
  std::thread thread_;
  local_run_queue queue_;
  std::atomic<process*> next_{nullptr};  // runs before the queue; not stolen (keeps pairs together)
  std::uint32_t slice_left_ = 0;
  std::uint32_t tick_ = 0;
  std::uint32_t now_ms_ = coarse_ms();
  std::vector<process*> overflow_;
  struct watch {
    std::uint64_t switches = 0, since_ns = 0;
  };
  std::vector<watch> watched_;  // per victim: when its context-switch count last moved

  alignas(64) single_writer_counter reductions_;
  single_writer_counter context_switches_;
  single_writer_counter sent_;
  single_writer_counter delivered_;
  single_writer_counter dead_letters_;
  single_writer_counter late_replies_;
  single_writer_counter unhandled_;
  single_writer_counter dropped_rejected_;
  single_writer_counter dropped_newest_;
  single_writer_counter dropped_oldest_;
  single_writer_counter minor_gcs_;
  single_writer_counter major_gcs_;
  single_writer_counter gc_reclaimed_;
  single_writer_counter idle_ns_;
  std::atomic<std::uint64_t> idle_since_ns_{0};  // 0 while busy
  // What it runs now, for introspection: the process (the last one it ran, until it idles; slots
  // are never freed, so readers may load its index and serial) and the type of the message its
  // handler was last given.
  std::atomic<process*> current_{nullptr};
  std::atomic<const message_type*> handling_{nullptr};
  std::atomic<std::uint64_t> started_ns_{0};
  alignas(64) std::atomic<std::uint32_t> parked_{0};
};

}  // namespace agner::detail
