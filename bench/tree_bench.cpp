// agner-bench tree S C: what a supervision_tree request costs the node (docs/etop.md, "Cost").
#include <time.h>

#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "agner/introspect/queries.hpp"
#include "agner/introspect/tree.hpp"
#include "agner/runtime/supervisor.hpp"
#include "benches.hpp"

namespace agner::bench {
namespace {

struct resting final : behaviour {
  void handle(context&, message&) override {}
};

double thread_cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
}

/// CPU milliseconds of this thread per call of `f`, the best of `runs` (the machine is shared).
template <class F>
double best_cpu_ms(int runs, F f) {
  double best = 1e18;
  for (int i = 0; i < runs; ++i) {
    const double t0 = thread_cpu_ms();
    f();
    best = std::min(best, thread_cpu_ms() - t0);
  }
  return best;
}

}  // namespace

std::string tree(runtime_options opts, long supervisors, long children) {
  const long total = supervisors * children + supervisors + 1;
  opts.process_limit = std::max<std::uint32_t>(opts.process_limit, static_cast<std::uint32_t>(total) + 64);
  runtime rt(opts);
  std::vector<child_spec> workers;
  for (long c = 0; c < children; ++c) workers.push_back(child_spec::worker<resting>(fmt::format("w{}", c)));
  std::vector<child_spec> sups;
  for (long s = 0; s < supervisors; ++s)
    sups.push_back(supervisor::child(fmt::format("sup{}", s), {restart_strategy::one_for_one, 5, std::chrono::seconds(10)}, workers));
  workers.clear();
  rt.spawn_with<supervisor>(spawn_options{.name = "root_sup"}, supervisor_flags{}, std::move(sups));
  while (rt.process_count() < total || supervisor::all(rt).size() < static_cast<std::size_t>(supervisors + 1))
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  auto request = [&](std::size_t entries, std::size_t depth) {
    introspect::tree_options o;
    o.max_entries = entries;
    o.depth = depth;
    return introspect::to_json(introspect::walk_supervision_tree(rt, o)).dump();  // what the node sends
  };
  std::size_t bytes_default = 0, bytes_max = 0;
  const double ms_default = best_cpu_ms(20, [&] { bytes_default = request(1000, 8).size(); });
  const double ms_max = best_cpu_ms(10, [&] { bytes_max = request(10000, 8).size(); });
  const double ms_roots = best_cpu_ms(20, [&] { request(1, 1); });  // finding the roots: one read per supervisor
  const double ms_top = best_cpu_ms(5, [&] { introspect::top(rt, introspect::sort_key::message_queue_len, 200); });
  return fmt::format(
      "agner tree processes={} supervisors={} cpu_ms_tree_1000_entries={:.2f} reply_bytes={} cpu_ms_tree_10000_entries={:.2f} "
      "reply_bytes={} cpu_ms_roots_only={:.3f} cpu_ms_top200_same_node={:.1f}",
      rt.process_count(), supervisors + 1, ms_default, bytes_default, ms_max, bytes_max, ms_roots, ms_top);
}

}  // namespace agner::bench
