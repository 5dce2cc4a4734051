// The Alertmanager sender against a hostile peer that answers 200 with a huge Content-Length, a
// header that never ends, or an endless chunked body: each post fails as the bound is passed, memory
// stays bounded, and the same sender then posts to the peer once it answers properly.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <stdexcept>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "../../node/alertmanager.hpp"
#include "support.hpp"
#include "notifier_support.hpp"

using namespace agner;
using agner::test::eventually;

namespace {

enum class answer { huge_length, giant_length, endless_header, endless_chunks, good };
constexpr int answer_kinds = 5;

/// A fake Alertmanager on loopback, one connection at a time (the sender posts one at a time):
/// reads the request, then answers as `mode` says. A hostile answer is streamed until the sender
/// closes the connection; `served[kind]` counts the connections that ended so.
struct fake_alertmanager {
  int fd = -1;
  std::uint16_t port = 0;
  std::atomic<answer> mode{answer::huge_length};
  std::atomic<int> served[answer_kinds] = {};
  std::atomic<bool> stop{false};
  std::thread thread;

  fake_alertmanager() {
    fd = agner::test::listen_loopback(16, port);
    REQUIRE(fd >= 0);
    thread = std::thread([this] { run(); });
  }
  ~fake_alertmanager() {
    stop = true;
    thread.join();
    ::close(fd);
  }

  void run() {
    while (!stop) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      const int c = ::accept(fd, nullptr, nullptr);
      if (c < 0) continue;
      timeval tv{10, 0};  // a request that never comes ends the connection, not the test
      ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      ::setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      if (read_request(c)) serve(c, mode.load());
      ::close(c);
    }
  }
  static bool read_request(int c) {
    std::string in;
    char buf[4096];
    std::size_t want = std::string::npos;
    while (in.size() < want) {
      const auto n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) return false;
      in.append(buf, static_cast<std::size_t>(n));
      const auto end = in.find("\r\n\r\n");
      if (end != std::string::npos && want == std::string::npos) {
        const auto at = in.find("Content-Length: ");
        want = end + 4 + (at == std::string::npos ? 0 : std::stoul(in.substr(at + 16)));
      }
    }
    return true;
  }
  static bool send_all(int c, const std::string& s) {
    std::size_t off = 0;
    while (off < s.size()) {
      const auto n = ::send(c, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<std::size_t>(n);
    }
    return true;
  }
  void serve(int c, answer how) {
    const std::string block(65536, 'a');
    std::string head, repeat;
    switch (how) {
      case answer::good:
        send_all(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        ++served[static_cast<int>(how)];
        return;
      case answer::huge_length: head = "HTTP/1.1 200 OK\r\nContent-Length: 800000000\r\n\r\n", repeat = block; break;
      case answer::giant_length: head = "HTTP/1.1 200 OK\r\nContent-Length: 100000000000\r\n\r\n", repeat = block; break;
      case answer::endless_header: head = "HTTP/1.1 200 OK\r\n", repeat = "X-a: " + std::string(60000, 'b') + "\r\n"; break;
      case answer::endless_chunks:
        head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", repeat = "10000\r\n" + block + "\r\n";
        break;
    }
    // Streams until the sender closes (a send fails) or 2 GB went out (then it never read bounded).
    bool open = send_all(c, head);
    for (std::size_t sent = 0; open && !stop && sent < (std::size_t{2} << 30); sent += repeat.size()) open = send_all(c, repeat);
    if (!open) ++served[static_cast<int>(how)];
  }
};

std::size_t rss_bytes() {
  std::ifstream in("/proc/self/statm");
  std::size_t size = 0, resident = 0;
  in >> size >> resident;
  return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

}  // namespace

using agner::test::log_lines;

TEST_CASE("a huge or endless answer fails the post within its bound and the same sender then posts to a good Alertmanager") {
  fake_alertmanager peer;
  log_lines log;
  alarms::alertmanager_rule rule;
  rule.url = fmt::format("http://127.0.0.1:{}/api/v2/alerts", peer.port);
  node::alertmanager_notifier notifier(rule, "n", 100, [&log](std::string_view line) {
    std::lock_guard lock(log.mutex);
    log.lines.emplace_back(line);
  });
  const std::size_t rss_before = rss_bytes();
  std::vector<introspect::alarm_row> active{{"backlog_high", "application", "major", "d", 1'000'000, false}};
  notifier.update(active, 1'000'100);
  // The retry (a second apart) meets each hostile answer in turn; the post fails as its bound is
  // passed, and the sender closes the connection long before the peer's 2 GB are out.
  for (answer how : {answer::huge_length, answer::giant_length, answer::endless_header, answer::endless_chunks}) {
    peer.mode = how;
    const int before = peer.served[static_cast<int>(how)];
    CHECK_MESSAGE(eventually([&] { return peer.served[static_cast<int>(how)] > before; }, std::chrono::seconds(60)),
                  "answer kind ", static_cast<int>(how));
  }
  CHECK(log.has(fmt::format("cannot post alerts (the answer's body is longer than {} bytes; it was not read); will retry",
                            node::alertmanager_notifier::max_reply_body_bytes)));
  // The node's memory does not follow Content-Length: a few buffers, not 800 MB.
  CHECK(rss_bytes() < rss_before + (64u << 20));
  // The sender lives on: the batch it kept is posted once the peer answers properly.
  peer.mode = answer::good;
  CHECK(eventually([&] { return notifier.posted() >= 1 && peer.served[static_cast<int>(answer::good)] >= 1; }, std::chrono::seconds(60)));
  CHECK(log.has("reachable again"));
  CHECK_FALSE(log.has("exception"));
}

TEST_CASE("a log callback that throws loses no batch and stops no sender") {
  fake_alertmanager peer;  // answers a huge Content-Length first: a failure, so a log line
  alarms::alertmanager_rule rule;
  rule.url = fmt::format("http://127.0.0.1:{}/api/v2/alerts", peer.port);
  std::atomic<int> calls{0};
  node::alertmanager_notifier notifier(rule, "n", 100, [&calls](std::string_view) {
    ++calls;
    throw std::runtime_error("the log is broken");
  });
  std::vector<introspect::alarm_row> active{{"backlog_high", "application", "major", "d", 1'000'000, false}};
  notifier.update(active, 1'000'100);
  CHECK(eventually([&] { return peer.served[static_cast<int>(answer::huge_length)] >= 1 && calls >= 1; }, std::chrono::seconds(60)));
  peer.mode = answer::good;  // the batch was kept for its retry although the log line threw
  CHECK(eventually([&] { return notifier.posted() >= 1; }, std::chrono::seconds(60)));
  CHECK(peer.served[static_cast<int>(answer::good)] >= 1);
}
