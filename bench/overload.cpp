// agner-bench overload: several times a worker pool's capacity offered through a valve, with
// shedding on (enforce) and off (shadow), reporting what each does to the node.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "agner/alarms/engine.hpp"
#include "agner/introspect/queries.hpp"
#include "benches.hpp"

namespace agner::bench {
namespace {

using clock = std::chrono::steady_clock;

struct job {
  clock::time_point offered_at;
};

/// Does about 50 us of work per job and records how long each job waited.
class pool_worker final : public behaviour {
 public:
  pool_worker(std::atomic<std::uint64_t>& done, std::vector<double>& waits, std::mutex& m)
      : done_(done), waits_(waits), mutex_(m) {}
  void handle(context& ctx, message& m) override {
    if (auto* j = m.get<job>()) {
      const double waited = std::chrono::duration<double, std::milli>(clock::now() - j->offered_at).count();
      const auto until = clock::now() + std::chrono::microseconds(50);
      while (clock::now() < until) {
      }
      ctx.add_reductions(50);
      {
        std::lock_guard lock(mutex_);
        waits_.push_back(waited);
      }
      done_.fetch_add(1, std::memory_order_relaxed);
    }
  }

 private:
  std::atomic<std::uint64_t>& done_;
  std::vector<double>& waits_;
  std::mutex& mutex_;
};

std::string run(runtime_options opts, long seconds, bool enforce) {
  runtime rt(opts);
  std::atomic<std::uint64_t> done{0};
  std::vector<double> waits;
  std::mutex waits_mutex;
  std::vector<pid> workers;
  for (int i = 0; i < 4; ++i) workers.push_back(rt.spawn<pool_worker>(done, waits, waits_mutex));
  std::atomic<std::uint64_t> sent{0};
  const std::string rules = fmt::format(R"({{"version": 1, "tick_ms": 50,
    "alarms": [ {{"id": "pool_backlog", "metric": "business:pool_backlog", "for_ms": 100, "hold_ms": 500,
                 "levels": [ {{"severity": "major", "raise": 2000, "clear": 500}} ],
                 "pressure": {{"scaling": 500, "saturation": 5000}} }} ],
    "valves": [ {{"id": "ingress", "triggers": ["pool_backlog"], "release_ms": 2000, "mode": "{}"}} ] }})",
                                        enforce ? "enforce" : "shadow");
  alarms::engine engine(std::get<alarms::rules>(alarms::parse_rules(rules, "overload")),
                        [&](const std::string&, const std::map<std::string, std::string>&) -> std::optional<double> {
                          return static_cast<double>(sent.load() - done.load());
                        });
  alarms::valve& ingress = engine.valve_named("ingress");
  const std::size_t batch = engine.class_index("normal");
  std::atomic<bool> stop{false};
  std::uint64_t max_backlog = 0;
  double max_probe_ms = 0;
  std::thread ticker([&] {
    while (!stop) {
      engine.tick(std::chrono::duration_cast<std::chrono::milliseconds>(clock::now().time_since_epoch()).count());
      max_backlog = std::max<std::uint64_t>(max_backlog, sent.load() - done.load());
      // An operator's view while it happens: how long top-20 and one process_info take.
      const auto t0 = clock::now();
      introspect::top(rt, introspect::sort_key::message_queue_len, 20);
      introspect::process_info(rt, workers[0], {}, std::chrono::milliseconds(1000));
      max_probe_ms = std::max(max_probe_ms, std::chrono::duration<double, std::milli>(clock::now() - t0).count());
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  const auto rss0 = introspect::system_info(rt).memory.resident_bytes;
  const auto start = clock::now();
  std::uint64_t offered = 0, admitted = 0, refused = 0;
  std::size_t next = 0;
  while (clock::now() - start < std::chrono::seconds(seconds)) {
    for (int i = 0; i < 160; ++i) {  // 160 a millisecond: ~160k/s against ~40k/s of capacity
      ++offered;
      if (!ingress.admit(batch)) {
        ++refused;
        continue;
      }
      ++admitted;
      sent.fetch_add(1);
      rt.send(workers[next++ % workers.size()], job{clock::now()});
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const double offer_s = std::chrono::duration<double>(clock::now() - start).count();
  const std::uint64_t handled = done.load();
  const auto rss1 = introspect::system_info(rt).memory.resident_bytes;
  stop = true;
  ticker.join();
  while (done.load() < sent.load()) std::this_thread::sleep_for(std::chrono::milliseconds(10));  // drain
  std::sort(waits.begin(), waits.end());
  auto pct = [&](double p) { return waits.empty() ? 0.0 : waits[static_cast<std::size_t>(p * static_cast<double>(waits.size() - 1))]; };
  const auto c = ingress.count(batch);
  return fmt::format(
      "agner overload shedding={} offered={} admitted={} shed={} would_shed={} identity={} offered_per_s={:.0f} "
      "handled_per_s={:.0f} max_backlog={} wait_ms_p50={:.1f} wait_ms_p99={:.1f} rss_growth_mb={:.1f} "
      "max_introspection_ms={:.1f}",
      enforce ? "on" : "off", offered, admitted, refused, c.would_shed,
      c.offered == c.admitted + c.shed && offered == admitted + refused ? "exact" : "BROKEN", static_cast<double>(offered) / offer_s,
      static_cast<double>(handled) / offer_s, max_backlog, pct(0.5), pct(0.99),
      static_cast<double>(rss1 > rss0 ? rss1 - rss0 : 0) / 1e6, max_probe_ms);
}

}  // namespace

std::string overload(runtime_options opts, long seconds) {
  return run(opts, seconds, true) + "\n" + run(opts, seconds, false);
}

}  // namespace agner::bench
