// agner-bench groups: the grouped view (introspect `groups`) beside the top 20 by queue, at scale.
#include <time.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "agner/introspect/groups.hpp"
#include "agner/introspect/queries.hpp"
#include "benches.hpp"

namespace agner::bench {
namespace {

using clock = std::chrono::steady_clock;

class idle_sink final : public behaviour {
 public:
  void handle(context&, message&) override {}
};
class named_sink final : public behaviour {
 public:
  void handle(context&, message&) override {}
};

/// CPU time of the calling thread, ms: on a loaded machine wall time mostly measures the others.
double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

struct timing {
  double wall_ms = 1e30, cpu_ms = 1e30;  // the best of the runs
  template <class F>
  void run(F&& work) {
    const auto t0 = clock::now();
    const double c0 = thread_cpu_ms();
    work();
    cpu_ms = std::min(cpu_ms, thread_cpu_ms() - c0);
    wall_ms = std::min(wall_ms, std::chrono::duration<double, std::milli>(clock::now() - t0).count());
  }
};

}  // namespace

std::string groups(runtime_options opts, long n, long named, long hot) {
  opts.process_limit = std::max<std::uint32_t>(opts.process_limit, static_cast<std::uint32_t>(n) + 64);
  runtime rt(opts);
  // Every (n / named)-th process registered as user_sup_I, the rest unnamed: two groups, and the
  // name merge the node does for every registered process.
  const long every = named > 0 ? std::max(1L, n / named) : n + 1;
  std::vector<pid> pids;
  pids.reserve(static_cast<std::size_t>(n));
  for (long i = 0; i < n; ++i)
    pids.push_back(i % every == 0 ? rt.spawn_with<named_sink>(spawn_options{.name = fmt::format("user_sup_{}", i)})
                                  : rt.spawn<idle_sink>());
  // `hot` processes with 1,000 messages queued (suspended, so the queues stay).
  for (long h = 0; h < hot; ++h) {
    const pid p = pids[static_cast<std::size_t>(h * (n / std::max(1L, hot)) + 1)];
    rt.suspend(p);
    while (rt.process_info(p)->status != process_status::suspended) std::this_thread::yield();
    for (int q = 0; q < 1000; ++q) rt.send(p, q);
  }
  introspect::group_window window;
  introspect::groups_result grouped;
  std::vector<introspect::process_row> rows;
  // Alternated, best of 5 each: the two figures are compared within one run on a loaded machine.
  timing top, grouping;
  for (int i = 0; i < 5; ++i) {
    top.run([&] { rows = introspect::top(rt, introspect::sort_key::message_queue_len, 20); });
    grouping.run([&] { grouped = window.groups(rt, introspect::group_sort::msgq, 20); });
  }
  return fmt::format("agner groups n={} named={} ms_top20_by_queue={:.1f} ms_groups={:.1f} cpu_ms_top20_by_queue={:.1f} "
                     "cpu_ms_groups={:.1f} groups={} processes_seen={} top_group={} top_group_msgq={}",
                     n, named, top.wall_ms, grouping.wall_ms, top.cpu_ms, grouping.cpu_ms, grouped.total_groups, grouped.processes,
                     grouped.groups.empty() ? "-" : grouped.groups.front().group,
                     grouped.groups.empty() ? 0 : grouped.groups.front().message_queue_len);
}

}  // namespace agner::bench
