#include "agner/introspect/collector.hpp"

#include <algorithm>
#include <random>
#include <stdexcept>

#include <fmt/format.h>

#include "agner/introspect/queries.hpp"

namespace agner::introspect {
namespace {

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

std::chrono::milliseconds jittered(std::chrono::milliseconds every, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  const auto lo = every.count() * 4 / 5, hi = every.count() * 6 / 5;
  return std::chrono::milliseconds(std::uniform_int_distribution<std::int64_t>(lo, std::max(lo, hi))(rng));
}

table_summary scan_table(const runtime& rt) {
  table_summary s;
  const auto t0 = std::chrono::steady_clock::now();
  rt.scan([&](const process_sample& p) {
    ++s.processes;
    s.queue_max = std::max(s.queue_max, p.message_queue_len);
    s.queue_sum += p.message_queue_len;
    s.oldest_age_ms = std::max(s.oldest_age_ms, p.oldest_message_age_ms);
    for (std::size_t i = 0; i < std::size(queue_buckets); ++i)
      if (static_cast<double>(p.message_queue_len) <= queue_buckets[i]) ++s.bucket_counts[i];
  });
  s.scan_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  s.taken_at = unix_now();
  return s;
}

collector::collector(const runtime& rt, collector_options o) : rt_(rt), opts_(std::move(o)), seed_(std::random_device{}()) {
  if (opts_.processes.size() > 50)
    throw std::runtime_error(fmt::format("per-process metrics for at most 50 names, not {}", opts_.processes.size()));
  // Each name is one label value: the same name twice would give two samples with one identity.
  for (std::size_t i = 0; i < opts_.processes.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (opts_.processes[i] == opts_.processes[j])
        throw std::runtime_error(fmt::format("per-process metrics name {:?} twice: give each name once", opts_.processes[i]));
  if (opts_.scan_every.count() <= 0)
    throw std::runtime_error(fmt::format("the table scan interval must be positive, not {} ms", opts_.scan_every.count()));
  if (opts_.tick.count() < 0)
    throw std::runtime_error(fmt::format("the collector's tick must not be negative, not {} ms", opts_.tick.count()));
  next_scan_ = std::chrono::steady_clock::now();  // the first tick scans
  tick();
  // And so does the next: a node makes its collector before it starts its processes, so that first
  // scan saw an empty table, which would otherwise stand for a whole scan interval (4-6 s).
  next_scan_ = std::chrono::steady_clock::now();
  if (opts_.tick.count() > 0)
    thread_ = std::thread([this] {
      std::unique_lock lock(wait_mutex_);
      while (!wake_.wait_for(lock, opts_.tick, [this] { return stopping_; })) {
        lock.unlock();
        tick();
        lock.lock();
      }
    });
}

collector::~collector() {
  {
    std::lock_guard lock(wait_mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::shared_ptr<const node_snapshot> collector::tick() {
  auto s = std::make_shared<node_snapshot>();
  s->node = system_info(rt_);
  s->taken_at = unix_now();
  for (auto& name : opts_.processes) {
    auto p = rt_.whereis(name);
    if (auto info = p ? rt_.process_info(*p) : std::nullopt) s->named.emplace_back(name, std::move(*info));
  }
  auto previous = latest();
  const auto now = std::chrono::steady_clock::now();
  if (!previous || now >= next_scan_) {
    s->table = scan_table(rt_);
    next_scan_ = std::chrono::steady_clock::now() + jittered(opts_.scan_every, seed_++);
  } else {
    s->table = previous->table;
  }
  s->generation = previous ? previous->generation + 1 : 1;
  std::shared_ptr<const node_snapshot> done = std::move(s);
  std::lock_guard lock(mutex_);
  latest_ = done;
  return done;
}

std::shared_ptr<const node_snapshot> collector::latest() const {
  std::lock_guard lock(mutex_);
  return latest_;
}

}  // namespace agner::introspect
