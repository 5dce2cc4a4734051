#include "workload.hpp"

#include <chrono>
#include <memory_resource>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "agner/runtime/supervisor.hpp"

namespace agner::node {
namespace {

using namespace std::chrono_literals;

struct tick {};
struct job {
  std::uint64_t n;
};
}  // namespace
}  // namespace agner::node

/// Queued jobs show their number in process_info (etop's inspect view), not just "job 32B".
template <>
struct fmt::formatter<agner::node::job> : fmt::formatter<std::uint64_t> {
  auto format(const agner::node::job& j, fmt::format_context& ctx) const {
    return fmt::formatter<std::uint64_t>::format(j.n, ctx);
  }
};

namespace agner::node {
namespace {

/// Burns about `us` microseconds of CPU: a stand-in for real work (it never sleeps or blocks).
std::uint64_t work(int us) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::microseconds(us);
  std::uint64_t x = 0;
  while (std::chrono::steady_clock::now() < end) x += x * 31 + 7;
  return x;
}

class worker final : public behaviour {
 public:
  void init(context& ctx) { ctx.node().send_after(10ms, ctx.self(), tick{}); }
  void handle(context& ctx, message& m) override {
    if (m.is<tick>()) {
      sum_ += work(20);
      ctx.add_reductions(20);
      ctx.node().send_after(10ms, ctx.self(), tick{});
    }
  }
  std::string describe() const { return fmt::format("ticks every 10 ms; checksum {}", sum_ % 1000); }

 private:
  std::uint64_t sum_ = 0;
};

class slow_consumer final : public behaviour {
 public:
  explicit slow_consumer(exporter::counter done) : done_(done) {}
  void handle(context& ctx, message& m) override {
    if (auto* j = m.get<job>()) {
      last_ = j->n;
      work(100);
      ctx.add_reductions(100);
      done_.inc();
    }
  }
  std::string describe() const { return fmt::format("last job {}", last_); }

 private:
  exporter::counter done_;
  std::uint64_t last_ = 0;
};

class burst_producer final : public behaviour {
 public:
  struct meters {
    exporter::counter done, shed;
    exporter::gauge backlog;
    alarms::valve* ingress;
    std::size_t batch;
  };
  explicit burst_producer(meters m) : m_(m) {}
  void init(context& ctx) { ctx.node().send_after(1s, ctx.self(), tick{}); }
  void handle(context& ctx, message& m) override {
    if (!m.is<tick>()) return;
    if (++ticks_ % 5 == 1) {  // a burst every 5 s, and every sixth burst a surge
      const int jobs = ++bursts_ % 6 == 0 ? 60'000 : 20'000;
      if (auto to = ctx.node().whereis("slow_consumer"))
        for (int i = 0; i < jobs; ++i) {
          if (!m_.ingress->admit(m_.batch)) {  // overloaded: refused here, at the producer
            m_.shed.inc();
            continue;
          }
          ctx.send(*to, job{next_++});
        }
    }
    m_.backlog.set(static_cast<double>(next_) - m_.done.value());
    ctx.node().send_after(1s, ctx.self(), tick{});
  }
  std::string describe() const { return fmt::format("{} jobs sent in {} bursts", next_, bursts_); }

 private:
  meters m_;
  std::uint64_t next_ = 0, bursts_ = 0, ticks_ = 0;
};

class flaky final : public behaviour {
 public:
  void init(context& ctx) { ctx.node().send_after(7s, ctx.self(), tick{}); }
  void handle(context&, message& m) override {
    if (m.is<tick>()) throw std::runtime_error("synthetic failure (restarted by workload_sup)");
  }
};

/// Keeps records in its heap; grows them in bursts, trims them, and hibernates in between.
class ledger final : public behaviour {
 public:
  explicit ledger(exporter::gauge size) : size_(size) {}
  void init(context& ctx) {
    ctx.heap().move_in(records_);
    ctx.node().send_after(2s, ctx.self(), tick{});
  }
  void handle(context& ctx, message& m) override {
    if (!m.is<tick>()) return;
    if (++round_ % 2) {
      for (int i = 0; i < 5000; ++i) records_.emplace_back(fmt::format("record {} of round {}", i, round_));
    } else {
      records_.resize(records_.size() / 4);
      ctx.hibernate();
    }
    size_.set(static_cast<double>(records_.size()));
    ctx.node().send_after(2s, ctx.self(), tick{});
  }
  void gc(heap& fresh) { fresh.move_in(records_); }
  std::string describe() const { return fmt::format("{} records after {} rounds", records_.size(), round_); }

 private:
  exporter::gauge size_;
  std::pmr::vector<std::pmr::string> records_;
  std::uint64_t round_ = 0;
};

template <class B, class... A>
child_spec named(const std::string& name, A... args) {
  child_spec s;
  s.id = name;
  s.start = [name, args...](context& ctx) { return ctx.spawn_link_with<B>(spawn_options{.name = name}, args...); };
  return s;
}

}  // namespace

pid spawn_idle(runtime& rt) {
  return rt.spawn_fn([](context&, message&) {});
}

pid start_synthetic_workload(runtime& rt, exporter::metrics& metrics, alarms::engine& alarms) {
  auto jobs = metrics.make_counter("synthetic_jobs_total", "Jobs the slow consumer finished.");
  auto records = metrics.make_gauge("synthetic_ledger_records", "Records the ledger holds.");
  burst_producer::meters producer{jobs, metrics.make_counter("synthetic_jobs_shed_total", "Jobs the ingress valve refused."),
                                  metrics.make_gauge("synthetic_backlog", "Jobs sent and not yet finished."),
                                  &alarms.valve_named("ingress"), alarms.class_index("batch")};
  std::vector<child_spec> workers;
  for (int i = 1; i <= 8; ++i) workers.push_back(named<worker>(fmt::format("worker_{}", i)));
  std::vector<child_spec> top{
      supervisor::child("workers_sup", {restart_strategy::one_for_one, 5, 10s}, workers),
      named<slow_consumer>("slow_consumer", jobs),
      named<burst_producer>("burst_producer", producer),
      named<flaky>("flaky"),
      named<ledger>("ledger", records),
  };
  const pid sup = rt.spawn_with<supervisor>(spawn_options{.name = "workload_sup"},
                                            supervisor_flags{restart_strategy::one_for_one, 10, 60s}, top);
  // A supervisor starts its children in init, on a scheduler, in order: once the last of each is
  // registered, every name is, and the node may let clients attach (one that suspended "slow_consumer"
  // at once found no such process under load). Polled rather than asked with runtime::call, whose
  // helper process would take a pid the children's numbering (<0.2.0> is slow_consumer) depends on.
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  auto started = [&rt] { return rt.whereis("ledger") && rt.whereis("worker_8"); };
  while (!started() && rt.process_info(sup) && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  if (!started())
    throw std::runtime_error(rt.process_info(sup) ? "the synthetic workload did not start within 30 s"
                                                  : "the synthetic workload did not start: its supervisor gave up");
  return sup;
}

}  // namespace agner::node
