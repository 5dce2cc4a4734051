// agner-bench stop: how long runtime::stop takes with a million processes and a million messages
// queued behind handlers that are still working through them.
#include <algorithm>
#include <chrono>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "benches.hpp"

namespace agner::bench {
namespace {

using clock = std::chrono::steady_clock;

/// Spends ~5 µs per message, so a queue of a million is seconds of work to drain.
class worker final : public behaviour {
 public:
  void handle(context&, message&) override {
    const auto until = clock::now() + std::chrono::microseconds(5);
    while (clock::now() < until) {
    }
  }
};

}  // namespace

std::string stop(runtime_options opts, long processes, long messages) {
  opts.process_limit = std::max<std::uint32_t>(opts.process_limit, static_cast<std::uint32_t>(processes) + 16);
  auto rt = std::make_unique<runtime>(opts);
  std::vector<pid> pids;
  pids.reserve(static_cast<std::size_t>(processes));
  for (long i = 0; i < processes; ++i) pids.push_back(rt->spawn<worker>());
  // Round robin, so every worker has work queued and runnable when the stop begins.
  for (long i = 0; i < messages; ++i) rt->send(pids[static_cast<std::size_t>(i % processes)], i);
  const auto before = rt->messages();
  const std::uint64_t queued = before.sent - before.delivered - before.dropped - before.dead_letters - before.shed;
  const auto t0 = clock::now();
  const auto summary = rt->stop();
  const double ms = std::chrono::duration<double, std::milli>(clock::now() - t0).count();
  const auto after = rt->messages();
  const bool exact = after.sent == after.delivered + after.shed + after.dropped + after.dead_letters;
  rt.reset();
  return fmt::format("agner stop processes={} queued={} stop_ms={:.1f} handled_meanwhile={} dead_letters={} identity={}",
                     processes, queued, ms, after.delivered - before.delivered, summary.dead_letters,
                     exact ? "exact" : "BROKEN");
}

}  // namespace agner::bench
