// The TCP handshake under floods of keyless strangers (security review 7): connections that never
// say anything, that say hello and never prove, that prove wrong, alone and mixed, held open and
// re-opened as soon as the node closes them. What the key holder sees: every attach succeeds.
// Bounded by conditions with generous deadlines, never by sleeps.
#include <doctest/doctest.h>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <thread>
#include <vector>

#include "attach_support.hpp"

using namespace agner;
using namespace agner::introspect;
using namespace agner::test;
using nlohmann::json;

namespace {

enum class stranger { idle, hello, wrong_proof };

/// A blocking connection to 127.0.0.1:port that says hello when `kind` is hello; -1 when refused.
int open_stranger(std::uint16_t port, stranger kind) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  if (kind == stranger::hello) {
    const std::string line = R"({"id":1,"op":"hello","versions":[1],"nonce":")" + std::string(64, 'a') + "\"}\n";
    (void)::send(fd, line.data(), line.size(), MSG_NOSIGNAL);
  }
  return fd;
}

/// `count` stranger connections, each re-opened as soon as the node closes it (the review's
/// flood.py), by threads of up to 150 connections; wrong provers by a thread each, one attempt
/// after another (auth.py wrongflood). Stops and closes everything when destroyed.
struct flood {
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> opened{0};
  std::vector<std::thread> threads;

  flood(std::uint16_t port, stranger kind, int count) {
    if (kind == stranger::wrong_proof) {
      for (int t = 0; t < count; ++t) threads.emplace_back([this, port] { prove_wrong(port); });
      return;
    }
    for (int left = count; left > 0; left -= 150)
      threads.emplace_back([this, port, kind, n = std::min(left, 150)] { hold(port, kind, n); });
  }
  ~flood() {
    stop = true;
    for (auto& t : threads) t.join();
  }

  void hold(std::uint16_t port, stranger kind, int n) {
    std::vector<int> fds(static_cast<std::size_t>(n), -1);
    std::vector<pollfd> polled;
    while (!stop) {
      polled.clear();
      for (auto& fd : fds) {
        if (fd < 0 && (fd = open_stranger(port, kind)) >= 0) ++opened;
        if (fd >= 0) polled.push_back({fd, POLLIN, 0});
      }
      ::poll(polled.data(), polled.size(), 20);
      for (auto& p : polled) {
        if (!p.revents) continue;
        char buf[4096];
        const auto got = ::recv(p.fd, buf, sizeof buf, MSG_DONTWAIT);
        if (got > 0 || (got < 0 && errno == EAGAIN)) continue;  // the hello reply: keep waiting
        for (auto& fd : fds)
          if (fd == p.fd) fd = -1;
        ::close(p.fd);  // closed by the node: open another
      }
    }
    for (int fd : fds)
      if (fd >= 0) ::close(fd);
  }

  void prove_wrong(std::uint16_t port) {
    while (!stop) {
      try {
        raw r(port);
        ++opened;
        if (r.tcp_hello()["ok"] != true) continue;
        r.send(json({{"id", 2}, {"op", "auth"}, {"role", "admin"}, {"proof", std::string(64, '0')}}).dump() + "\n");
        r.line();  // the delayed answer, or the end of the stream
      } catch (const std::exception&) {
      }
    }
  }
};

/// Attaches with the admin key `times` times, one after another; how many got in (each attach may
/// retry by itself when evicted, as agner-ctl and etop do: attach_tcp).
int attaches(attached_node& node, int times) {
  int in = 0;
  for (int i = 0; i < times; ++i) {
    try {
      auto admin = node.tcp_client("admin", "admin.cookie");
      if (admin.top("msgq", 1).size() == 1) ++in;
    } catch (const client_error& e) {
      MESSAGE("attach ", i, " failed: ", e.code(), ": ", std::string(e.what()));
    }
  }
  return in;
}

std::size_t evictions(attached_node& node) {
  std::size_t n = 0;
  for (auto& l : node.logs.snapshot())
    if (l.find("connections in their handshake") != std::string::npos) ++n;
  return n;
}

}  // namespace

TEST_CASE("a key holder attaches every time while 64 or 300 keyless connections hold their handshake open") {
  for (const auto kind : {stranger::idle, stranger::hello}) {
    for (const int n : {64, 300}) {
      CAPTURE(n);
      CAPTURE(kind == stranger::idle ? "idle" : "hello");
      attached_node node;  // the default limits: 3 s to finish, 512 slots
      flood strangers(node.srv->tcp_port(), kind, n);
      REQUIRE(eventually([&] { return strangers.opened >= static_cast<std::uint64_t>(n); }));
      CHECK(attaches(node, 10) == 10);
      CHECK(evictions(node) == 0);  // within the slots nobody is closed to make room
    }
  }
}

TEST_CASE("thirty wrong provers never take a key holder's place") {
  attached_node node;
  flood strangers(node.srv->tcp_port(), stranger::wrong_proof, 30);
  REQUIRE(eventually([&] { return node.srv->auth_failures() >= 30; }));
  CHECK(attaches(node, 10) == 10);
}

TEST_CASE("a mixed flood larger than the handshake slots closes the oldest, and the key holder still gets in") {
  // 256 slots against 400 churning strangers: every accept closes the oldest of them. A key holder
  // is closed only if 256 connections arrive within its own round trip (then it attaches again).
  server_limits limits;
  limits.max_unauthenticated_tcp = 256;
  attached_node node(limits);
  const auto port = node.srv->tcp_port();
  flood idle(port, stranger::idle, 200), hello(port, stranger::hello, 200), wrong(port, stranger::wrong_proof, 8);
  REQUIRE(eventually([&] { return evictions(node) > 0 && node.srv->auth_failures() > 0; }));
  const std::uint64_t before = idle.opened + hello.opened;
  CHECK(attaches(node, 10) == 10);
  const std::uint64_t during = idle.opened + hello.opened - before;
  MESSAGE(during, " stranger connections opened during 10 attaches");
}
