#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <latch>
#include <memory_resource>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "agner/introspect/queries.hpp"
#include "benches.hpp"
#include "memory.hpp"
#include "observer.hpp"
#include "agner/exporter/exporter.hpp"

namespace agner::bench {
namespace {

using clock = std::chrono::steady_clock;
double seconds_since(clock::time_point t0) {
  return std::chrono::duration<double>(clock::now() - t0).count();
}

struct stop {};

/// Waits for a message that never comes (Erlang's `receive stop -> ok end`).
class idle final : public behaviour {
 public:
  void handle(context& ctx, message&) override { ctx.exit(); }
};

struct ping {
  pid from;
};
struct pong {};

class ponger final : public behaviour {
 public:
  void handle(context& ctx, message& m) override {
    if (auto* p = m.get<ping>()) {
      ctx.send(p->from, pong{});
    } else {
      ctx.exit();
    }
  }
};

class pinger final : public behaviour {
 public:
  pinger(pid partner, long roundtrips, std::latch& done)
      : partner_(partner), left_(roundtrips), done_(done) {}
  void init(context& ctx) { ctx.send(partner_, ping{ctx.self()}); }
  void handle(context& ctx, message&) override {
    if (--left_ > 0) {
      ctx.send(partner_, ping{ctx.self()});
    } else {
      ctx.send(partner_, stop{});
      done_.count_down();
      ctx.exit();
    }
  }

 private:
  pid partner_;
  long left_;
  std::latch& done_;
};

struct link_to {
  pid next;
};

class ring_node final : public behaviour {
 public:
  ring_node(pid next, std::latch& done) : next_(next), done_(done) {}
  void handle(context& ctx, message& m) override {
    if (auto* hops = m.get<long>()) {
      if (*hops == 0) {
        done_.count_down();
      } else {
        ctx.send(next_, *hops - 1);
      }
    } else if (auto* l = m.get<link_to>()) {
      next_ = l->next;
    }
  }

 private:
  pid next_;
  std::latch& done_;
};

struct more {};
struct get_total {};

class counter final : public behaviour {
 public:
  counter(long& total, std::latch& done) : total_(total), done_(done) {}
  void handle(context&, message& m) override {
    if (auto* v = m.get<long>()) {
      count_ += *v;
    } else if (m.is<get_total>()) {
      total_ = count_;
      done_.count_down();
    }
  }

 private:
  long count_ = 0;
  long& total_;
  std::latch& done_;
};

/// Floods `target` with `msgs` ones in chunks, so it never holds a scheduler for long.
class producer final : public behaviour {
 public:
  producer(pid target, long msgs) : target_(target), left_(msgs) {}
  void init(context& ctx) { ctx.send(ctx.self(), more{}); }
  void handle(context& ctx, message&) override {
    constexpr long chunk = 1000;
    long n = left_ < chunk ? left_ : chunk;
    for (long i = 0; i < n; ++i) ctx.send(target_, 1L);
    ctx.add_reductions(static_cast<std::uint64_t>(n));
    left_ -= n;
    if (left_ > 0) {
      ctx.send(ctx.self(), more{});
    } else {
      ctx.send(target_, get_total{});
      ctx.exit();
    }
  }

 private:
  pid target_;
  long left_;
};

}  // namespace

std::string spawn(runtime_options opts, long n) {
  opts.process_limit = std::max<std::uint32_t>(opts.process_limit, static_cast<std::uint32_t>(n) + 16);
  runtime rt(opts);
  auto watch = observe(rt);
  std::vector<pid> pids;
  pids.reserve(static_cast<std::size_t>(n));
  const std::size_t rss0 = resident_bytes(), heap0 = allocated_bytes();
  auto t0 = clock::now();
  for (long i = 0; i < n; ++i) pids.push_back(rt.spawn<idle>());
  const double s = seconds_since(t0);
  const std::size_t rss1 = resident_bytes(), heap1 = allocated_bytes();
  const double grown = static_cast<double>(std::max(rss1 - rss0, heap1 - heap0));
  return fmt::format("agner spawn n={} ns_per_spawn={:.1f} bytes_per_process={:.1f}", n, s * 1e9 / n,
                     grown / n);
}

std::string pingpong(runtime_options opts, long pairs, long roundtrips) {
  runtime rt(opts);
  auto watch = observe(rt);
  std::latch done(pairs);
  auto t0 = clock::now();
  for (long i = 0; i < pairs; ++i) rt.spawn<pinger>(rt.spawn<ponger>(), roundtrips, done);
  done.wait();
  const double s = seconds_since(t0);
  const long msgs = pairs * roundtrips * 2;
  return fmt::format("agner pingpong pairs={} msgs={} msgs_per_sec={:.0f}", pairs, msgs, msgs / s);
}

std::string ring(runtime_options opts, long n, long hops) {
  runtime rt(opts);
  auto watch = observe(rt);
  std::latch done(1);
  pid first = rt.spawn<ring_node>(pid{}, done);
  pid last = first;
  for (long i = 1; i < n; ++i) last = rt.spawn<ring_node>(last, done);
  rt.send(first, link_to{last});
  auto t0 = clock::now();
  rt.send(last, hops);
  done.wait();
  const double s = seconds_since(t0);
  return fmt::format("agner ring n={} hops={} msgs_per_sec={:.0f}", n, hops, hops / s);
}

std::string counting(runtime_options opts, long msgs) {
  runtime rt(opts);
  auto watch = observe(rt);
  long total = 0;
  std::latch done(1);
  auto t0 = clock::now();
  pid target = rt.spawn<counter>(total, done);
  rt.spawn<producer>(target, msgs);
  done.wait();
  const double s = seconds_since(t0);
  if (total != msgs) return fmt::format("agner counting msgs={} ERROR counted={}", msgs, total);
  return fmt::format("agner counting msgs={} msgs_per_sec={:.0f}", msgs, msgs / s);
}

namespace {
/// Sends itself a message forever and notes the longest gap between two of them while asked to:
/// how long its scheduler was kept from it.
class heartbeat final : public behaviour {
 public:
  struct gauge {
    std::atomic<bool> measuring{false};
    std::atomic<std::int64_t> max_gap_ns{0};
    std::atomic<bool> stop{false};
    std::atomic<bool> started{false};
  };
  explicit heartbeat(gauge& g) : g_(g) {}
  void init(context& ctx) { ctx.send(ctx.self(), 0); }
  void handle(context& ctx, message&) override {
    const auto now = clock::now();
    if (g_.measuring.load(std::memory_order_relaxed)) {
      const auto gap = std::chrono::duration_cast<std::chrono::nanoseconds>(now - last_).count();
      if (gap > g_.max_gap_ns.load(std::memory_order_relaxed)) g_.max_gap_ns.store(gap, std::memory_order_relaxed);
    }
    last_ = now;
    g_.started.store(true, std::memory_order_relaxed);
    if (g_.stop.load(std::memory_order_relaxed)) return ctx.exit();
    ctx.send(ctx.self(), 0);
  }

 private:
  gauge& g_;
  clock::time_point last_ = clock::now();
};

/// The longest gap the heartbeat saw while `work` ran.
template <class F>
double max_gap_us(heartbeat::gauge& g, F&& work) {
  g.max_gap_ns.store(0);
  g.measuring.store(true);
  work();
  g.measuring.store(false);
  return static_cast<double>(g.max_gap_ns.load()) / 1e3;
}
}  // namespace

/// Restricts the calling thread (and the threads it starts afterwards) to one CPU.
void pin_to_cpu(unsigned cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

std::string topq(runtime_options opts, long n, long hot, long queued) {
  opts.process_limit = std::max<std::uint32_t>(opts.process_limit, static_cast<std::uint32_t>(n) + 64);
  // The schedulers get the last CPU and the query the first, so a gap the heartbeat sees is one
  // the query caused in the runtime, not the kernel sharing a core between two threads.
  const unsigned cpus = std::thread::hardware_concurrency();
  cpu_set_t all;
  pthread_getaffinity_np(pthread_self(), sizeof all, &all);
  struct restore {
    cpu_set_t& mask;
    ~restore() { pthread_setaffinity_np(pthread_self(), sizeof mask, &mask); }
  } restore_later{all};  // later benchmarks start their schedulers on every CPU again
  if (cpus >= 2) pin_to_cpu(cpus - 1);
  runtime rt(opts);
  if (cpus >= 2) pin_to_cpu(0);
  auto watch = observe(rt);
  std::vector<pid> pids;
  pids.reserve(static_cast<std::size_t>(n));
  for (long i = 0; i < n; ++i) pids.push_back(rt.spawn<idle>());
  // Erlang's peer leaves the hot processes' messages queued (selective receive). Here the hot
  // processes are suspended, so their messages stay queued while every scheduler runs on.
  std::vector<pid> hot_pids;
  for (long h = 0; h < hot; ++h) hot_pids.push_back(pids[static_cast<std::size_t>(h * (n / hot))]);
  for (pid p : hot_pids) rt.suspend(p);
  for (pid p : hot_pids)
    while (rt.process_info(p)->status != process_status::suspended) std::this_thread::yield();
  for (pid p : hot_pids)
    for (long q = 0; q < queued; ++q) rt.send(p, q);
  // One scheduler runs a heartbeat; the query runs on this thread, reading atomics only.
  heartbeat::gauge g;
  rt.spawn<heartbeat>(g);
  while (!g.started.load()) std::this_thread::yield();
  double query_s = 0;
  std::vector<introspect::process_row> rows;
  const double baseline_us = max_gap_us(g, [] { std::this_thread::sleep_for(std::chrono::milliseconds(200)); });
  const double during_us = max_gap_us(g, [&] {
    auto t0 = clock::now();
    rows = introspect::top(rt, introspect::sort_key::message_queue_len, 20);
    query_s = seconds_since(t0);
  });
  g.stop.store(true);
  return fmt::format(
      "agner topq n={} ms_top20_by_queue={:.1f} max_queue={} max_scheduler_gap_us_during_query={:.0f} "
      "max_scheduler_gap_us_idle_200ms={:.0f}",
      n, query_s * 1e3, rows.empty() ? 0 : rows.front().message_queue_len, during_us, baseline_us);
}

}  // namespace agner::bench

namespace agner::bench {
namespace {

struct build_state {
  long live;
};

/// Holds `live` 64-byte strings in its heap; compacts them on a major collection.
class keeper final : public behaviour {
 public:
  void init(context& ctx) { ctx.heap().move_in(items_); }
  void handle(context&, message& m) override {
    if (auto* b = m.get<build_state>())
      for (long i = 0; i < b->live; ++i) items_.emplace_back(64, 'x');
  }
  void gc(heap& fresh) { fresh.move_in(items_); }

 private:
  std::pmr::vector<std::pmr::string> items_;
};

}  // namespace

std::string gc(runtime_options opts, long live, long queued, long runs) {
  runtime rt(opts);
  auto watch = observe(rt);
  pid p = rt.spawn<keeper>();
  rt.send(p, build_state{live});
  while (rt.process_info(p)->messages_received < 1) std::this_thread::yield();
  // Hold every scheduler so the queue stays as sent, then queue the messages and the requests.
  // When the keeper runs, it applies each collection request as it arrives, before handling any
  // of the queued messages, so every collection sees the whole queue.
  const unsigned schedulers = rt.scheduler_count();
  std::latch held(schedulers), release(1);
  for (unsigned i = 0; i < schedulers; ++i)
    rt.send(rt.spawn_fn([&](context&, message&) {
      held.count_down();
      release.wait();
    }),
            0);
  held.wait();
  for (long q = 0; q < queued; ++q) rt.send(p, q);
  for (long r = 0; r < runs; ++r) rt.garbage_collect(p);
  const auto before = *rt.process_info(p);
  auto t0 = clock::now();
  release.count_down();
  while (rt.process_info(p)->major_gcs < static_cast<std::uint64_t>(runs)) std::this_thread::yield();
  const double s = seconds_since(t0);
  return fmt::format("agner gc live={} queued={} runs={} us_per_major_gc={:.1f} heap_bytes={} queue_at_gc={}",
                     live, queued, runs, s * 1e6 / static_cast<double>(runs), rt.process_info(p)->heap_bytes,
                     before.message_queue_len - static_cast<std::uint64_t>(runs));  // less the requests
}

}  // namespace agner::bench

namespace agner::bench {

std::string scrape(runtime_options opts, long n) {
  opts.process_limit = std::max<std::uint32_t>(opts.process_limit, static_cast<std::uint32_t>(n) + 64);
  runtime rt(opts);
  for (long i = 0; i < n; ++i) rt.spawn<idle>();
  exporter::options o;
  o.listen = "127.0.0.1:0";
  exporter::exporter ex(rt, o);  // its first table summary is taken here, before any scrape
  std::size_t bytes = bench::scrape(ex.port());
  constexpr int runs = 100;
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    auto t0 = clock::now();
    bytes = bench::scrape(ex.port());
    ms.push_back(seconds_since(t0) * 1e3);
  }
  std::sort(ms.begin(), ms.end());
  double sum = 0;
  for (double m : ms) sum += m;
  return fmt::format("agner scrape processes={} ms_per_scrape={:.2f} ms_p99={:.2f} body_bytes={}", n, sum / runs,
                     ms[runs * 99 / 100], bytes);
}

}  // namespace agner::bench
