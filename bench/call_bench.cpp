// call, send_after and fanout: request/reply against one server, timer throughput, one publisher
// fanning events out to many subscribers (../shared/peers/peerbench.erl's `call` and `fanout`).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "benches.hpp"
#include "memory.hpp"
#include "observer.hpp"

namespace agner::bench {
namespace {

using clock = std::chrono::steady_clock;
double seconds_since(clock::time_point t0) { return std::chrono::duration<double>(clock::now() - t0).count(); }

/// The co_await client's request: its answer is a long.
struct echo {
  long n;
  using reply_type = long;
};

/// gen_server's echo: answers each request with its body.
class echo_server final : public behaviour {
 public:
  void handle(context& ctx, message& m) override {
    if (auto* r = m.get<request<long>>()) {
      ctx.reply(r->from, r->body);
    } else if (auto* e = m.get<request<echo>>()) {
      ctx.reply(*e, e->body.n);
    }
  }
};

/// call_client written as gen_server:call is: R calls in a row in one handler, with co_await.
class call_co_client final : public async_behaviour {
 public:
  struct go {};
  call_co_client(pid server, long calls, std::chrono::nanoseconds timeout, std::atomic<long>& failed,
                 std::latch& done)
      : server_(server), calls_(calls), timeout_(timeout), failed_(failed), done_(done) {}
  void init(context& ctx) { ctx.send(ctx.self(), go{}); }
  task handle_async(context& ctx, message& m) override {
    if (!m.is<go>()) co_return;
    for (long left = calls_; left > 0; --left) {
      try {
        if (co_await ctx.call(server_, echo{left}, timeout_) != left) failed_.fetch_add(1, std::memory_order_relaxed);
      } catch (const call_error&) {
        failed_.fetch_add(1, std::memory_order_relaxed);
      }
    }
    done_.count_down();
    ctx.exit();
  }

 private:
  pid server_;
  long calls_;
  std::chrono::nanoseconds timeout_;
  std::atomic<long>& failed_;
  std::latch& done_;
};

/// Erlang's call_loop: R calls in a row, each sent when the previous one is answered.
class call_client final : public behaviour {
 public:
  call_client(pid server, long calls, std::chrono::nanoseconds timeout, std::atomic<long>& failed,
              std::latch& done)
      : server_(server), left_(calls), timeout_(timeout), failed_(failed), done_(done) {}
  void init(context& ctx) { next(ctx); }
  void handle(context&, message&) override {}

 private:
  void next(context& ctx) {
    ctx.request(server_, left_, timeout_, [this](context& c, reply& r) {
      const long* v = r.get<long>();
      if (!v || *v != left_) failed_.fetch_add(1, std::memory_order_relaxed);
      if (--left_ > 0) return next(c);
      done_.count_down();
      c.exit();
    });
  }
  pid server_;
  long left_;
  std::chrono::nanoseconds timeout_;
  std::atomic<long>& failed_;
  std::latch& done_;
};

/// Starts `count` timers of `delay` to itself, `chunk` per handler, and counts them as they fire.
class timer_starter final : public behaviour {
 public:
  struct go {};
  timer_starter(long count, std::chrono::nanoseconds delay, std::latch& done)
      : left_to_start_(count), left_to_fire_(count), delay_(delay), done_(done) {}
  void handle(context& ctx, message& m) override {
    if (m.is<go>()) {
      constexpr long chunk = 1000;
      const long n = std::min(chunk, left_to_start_);
      for (long i = 0; i < n; ++i) ctx.node().send_after(delay_, ctx.self(), 0L);
      left_to_start_ -= n;
      if (left_to_start_ > 0) ctx.send(ctx.self(), go{});
    } else if (m.is<long>() && --left_to_fire_ == 0) {
      done_.count_down();
      ctx.exit();
    }
  }

 private:
  long left_to_start_, left_to_fire_;
  std::chrono::nanoseconds delay_;
  std::latch& done_;
};

struct event {
  long n;
};
struct next_event {};

/// Counts E events, then says so.
class subscriber final : public behaviour {
 public:
  subscriber(long events, std::latch& done) : left_(events), done_(done) {}
  void handle(context& ctx, message& m) override {
    if (m.is<event>() && --left_ == 0) {
      done_.count_down();
      ctx.exit();
    }
  }

 private:
  long left_;
  std::latch& done_;
};

/// Sends each event to every subscriber, one event per handler (then it asks itself for the next).
class publisher final : public behaviour {
 public:
  publisher(const std::vector<pid>& subscribers, long events) : subs_(subscribers), left_(events) {}
  void handle(context& ctx, message& m) override {
    if (!m.is<next_event>()) return;
    for (pid s : subs_) ctx.send(s, event{left_});
    if (--left_ > 0) {
      ctx.send(ctx.self(), next_event{});
    } else {
      ctx.exit();
    }
  }

 private:
  const std::vector<pid>& subs_;
  long left_;
};

/// Samples, every 5 ms until stopped, how far memory and the node's queues have grown.
class peak_sampler {
 public:
  explicit peak_sampler(runtime& rt) : rt_(rt), heap0_(allocated_bytes()), rss0_(resident_bytes()) {
    thread_ = std::thread([this] {
      while (!stop_.load()) {
        sample();
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    });
  }
  ~peak_sampler() { finish(); }
  void finish() {
    if (!thread_.joinable()) return;
    stop_.store(true);
    thread_.join();
    sample();
  }
  std::size_t peak_heap = 0, peak_rss = 0;
  std::uint64_t peak_queued = 0;

 private:
  void sample() {
    const std::size_t heap = allocated_bytes(), rss = resident_bytes();
    peak_heap = std::max(peak_heap, heap > heap0_ ? heap - heap0_ : 0);
    peak_rss = std::max(peak_rss, rss > rss0_ ? rss - rss0_ : 0);
    const auto m = rt_.messages();
    const std::uint64_t ended = m.delivered + m.shed + m.dropped + m.dead_letters;
    peak_queued = std::max(peak_queued, m.sent > ended ? m.sent - ended : 0);
  }
  runtime& rt_;
  std::size_t heap0_, rss0_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace

std::string call(runtime_options opts, long clients, long calls, std::chrono::nanoseconds timeout, bool co_await_form) {
  runtime rt(opts);
  auto watch = observe(rt);
  std::atomic<long> failed{0};
  std::latch done(clients);
  pid server = rt.spawn<echo_server>();
  auto t0 = clock::now();
  for (long i = 0; i < clients; ++i) {
    if (co_await_form) {
      rt.spawn<call_co_client>(server, calls, timeout, failed, done);
    } else {
      rt.spawn<call_client>(server, calls, timeout, failed, done);
    }
  }
  done.wait();
  const double s = seconds_since(t0);
  const long total = clients * calls;
  const std::string how = timeout == infinity ? "infinity" : fmt::format("{}ms", timeout.count() / 1'000'000);
  const char* name = co_await_form ? "call_co" : "call";
  if (failed.load() != 0)
    return fmt::format("agner {} clients={} calls={} ERROR failed={} timeout={}", name, clients, total, failed.load(),
                       how);
  return fmt::format("agner {} clients={} calls={} calls_per_sec={:.0f} timeout={}", name, clients, total, total / s,
                     how);
}

std::string send_after(runtime_options opts, long timers) {
  runtime rt(opts);
  auto watch = observe(rt);
  const long starters = std::max(1u, rt.scheduler_count()) * 10L;
  std::latch done(starters);
  auto t0 = clock::now();
  for (long i = 0; i < starters; ++i)
    rt.send(rt.spawn<timer_starter>(timers / starters, std::chrono::milliseconds(1), done), timer_starter::go{});
  done.wait();
  const double s = seconds_since(t0);
  const long total = timers / starters * starters;
  return fmt::format("agner send_after timers={} per_sec={:.0f}", total, total / s);
}

std::string fanout(runtime_options opts, long subscribers, long events) {
  opts.process_limit = std::max<std::uint32_t>(opts.process_limit, static_cast<std::uint32_t>(subscribers) + 64);
  runtime rt(opts);
  auto watch = observe(rt);
  std::latch done(subscribers);
  std::vector<pid> subs;
  subs.reserve(static_cast<std::size_t>(subscribers));
  for (long i = 0; i < subscribers; ++i) subs.push_back(rt.spawn<subscriber>(events, done));
  peak_sampler peak(rt);
  auto t0 = clock::now();
  rt.send(rt.spawn<publisher>(subs, events), next_event{});
  done.wait();
  const double s = seconds_since(t0);
  peak.finish();
  return fmt::format(
      "agner fanout subscribers={} events={} msgs_per_sec={:.0f} peak_bytes={} peak_rss_bytes={} peak_queued={}",
      subscribers, events, static_cast<double>(subscribers * events) / s, peak.peak_heap, peak.peak_rss,
      peak.peak_queued);
}

}  // namespace agner::bench
