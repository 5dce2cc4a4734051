// The Alertmanager sender against a peer that accepts and never answers: posts time out, the queue
// stays bounded (oldest dropped, counted, logged), and stopping the sender never waits long.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "../../node/alertmanager.hpp"
#include "support.hpp"
#include "notifier_support.hpp"

using namespace agner;
using agner::test::eventually;

namespace {

/// A TCP listener on loopback that never accepts: the kernel completes connections into the
/// backlog and buffers what is sent, and nothing ever answers.
struct hung_peer {
  int fd = -1;
  std::uint16_t port = 0;
  hung_peer() {
    fd = agner::test::listen_loopback(64, port);
    REQUIRE(fd >= 0);
  }
  ~hung_peer() { ::close(fd); }
};

}  // namespace

using agner::test::log_lines;

TEST_CASE("a hung Alertmanager: posts time out and are logged, the queue drops its oldest, and stopping is bounded") {
  hung_peer peer;
  log_lines log;
  alarms::alertmanager_rule rule;
  rule.url = fmt::format("http://127.0.0.1:{}/api/v2/alerts", peer.port);
  auto notifier = std::make_unique<node::alertmanager_notifier>(rule, "n", 100, [&log](std::string_view line) {
    std::lock_guard lock(log.mutex);
    log.lines.emplace_back(line);
  });
  std::int64_t now = 1'000'000;
  std::vector<introspect::alarm_row> active;
  // Each update with a new alarm is due at once: one batch each. Updates never wait on the peer.
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 40; ++i) {
    active.push_back({fmt::format("alarm_{}", i), "application", "major", "d", static_cast<std::uint64_t>(now), false});
    notifier->update(active, now += 100);
  }
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10));  // 40 JSON bodies; no network wait
  // One batch in flight at most, node::alertmanager_notifier::max_queued waiting: the rest dropped.
  CHECK(notifier->dropped() >= 40 - 1 - node::alertmanager_notifier::max_queued);
  CHECK(log.has("1 queued post dropped (oldest first; 1 in all): it is not keeping up"));  // then at most a line a minute
  // The post in flight is abandoned at its deadline, and said so once.
  CHECK(eventually([&] { return log.has("cannot post alerts (no answer within 5000 ms, while reading the answer's header); will retry"); }, std::chrono::seconds(60)));
  CHECK(notifier->posted() == 0);
  // Stopping cancels what is in flight: it never waits for the peer.
  const auto t1 = std::chrono::steady_clock::now();
  notifier.reset();
  CHECK(std::chrono::steady_clock::now() - t1 < std::chrono::seconds(5));  // bounded by stop_wait_ms (1 s) by design
}
