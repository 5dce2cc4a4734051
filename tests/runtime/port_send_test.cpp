#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "support.hpp"

using namespace agner;

namespace {

/// A loopback client; reads give up after 30 s so a bug fails instead of hanging.
/// `receive_buffer` > 0 makes its window small, so the sender's writes stop part-way.
int connect_to(std::uint16_t port, int receive_buffer = 0) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (receive_buffer > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
  timeval tv{30, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  return fd;
}

/// Everything until the peer closes.
std::string read_all(int fd) {
  std::string out;
  char buf[16384];
  for (;;) {
    auto got = ::recv(fd, buf, sizeof buf, 0);
    if (got <= 0) break;
    out.append(buf, static_cast<std::size_t>(got));
  }
  return out;
}

}  // namespace

TEST_CASE("one binary sent to two sockets arrives whole on both and the bytes queued before close_port are written") {
  runtime rt(test::two_schedulers());
  std::promise<std::uint16_t> port;
  const std::string big(1 << 20, 'b');  // more than one write, so close_port finds bytes still queued
  std::vector<port_id> sockets;
  pid server = rt.spawn_fn([&](context& ctx, message& m) {
    if (m.is<int>()) port.set_value(ctx.tcp_listen("127.0.0.1", 0, 16).second);
    if (auto* a = m.get<tcp_accepted>()) {
      sockets.push_back(a->socket);
      if (sockets.size() == 2) {
        binary shared(big);
        for (auto s : sockets) {
          ctx.tcp_send(s, std::string("head:"));
          ctx.tcp_send(s, shared);
          ctx.tcp_send(s, std::string(":tail\n"));
          ctx.close_port(s);
        }
      }
    }
  });
  rt.send(server, 0);
  const auto p = port.get_future().get();
  int a = connect_to(p), b = connect_to(p);
  const std::string want = "head:" + big + ":tail\n";
  CHECK(read_all(a) == want);
  CHECK(read_all(b) == want);
  ::close(a);
  ::close(b);
}

TEST_CASE("a socket closed while its peer is still sending delivers the last line, then a clean end, not a reset") {
  // As MatchStream refuses a line that is too long: it answers at the first bytes and closes while
  // the peer has a megabyte on the way. Closing with unread input would make the kernel send an RST,
  // which can throw away the answer before the peer reads it; a lingering close reads the rest.
  runtime rt(test::two_schedulers());
  std::promise<std::uint16_t> port;
  pid server = rt.spawn_fn([&](context& ctx, message& m) {
    if (m.is<int>()) port.set_value(ctx.tcp_listen("127.0.0.1", 0).second);
    if (auto* a = m.get<tcp_accepted>()) ctx.activate(a->socket);
    if (auto* d = m.get<tcp_data>()) {
      ctx.tcp_send(d->socket, std::string("ERROR: line too long\n"));
      ctx.close_port(d->socket);
    }
  });
  rt.send(server, 0);
  int fd = connect_to(port.get_future().get());
  const std::string flood(1 << 20, 'x');
  std::size_t sent = 0;
  int send_error = 0;
  while (sent < flood.size()) {
    const auto n = ::send(fd, flood.data() + sent, flood.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      send_error = errno;
      break;
    }
    sent += static_cast<std::size_t>(n);
  }
  CHECK(send_error == 0);  // the server read (and dropped) the rest rather than reset the connection
  std::string got;
  char buf[4096];
  ssize_t n = 0;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) got.append(buf, static_cast<std::size_t>(n));
  const int recv_error = n < 0 ? errno : 0;
  CHECK(got == "ERROR: line too long\n");
  CHECK(recv_error == 0);  // a FIN: recv returned 0, not ECONNRESET
  ::close(fd);
}

TEST_CASE("a last line sent just before close_port and exit arrives, while other schedulers keep sending") {
  // Sends from any thread share one queue whose doorbell the first sender rings. A close or an
  // owner's death posted on its own could overtake a send whose doorbell another thread had yet to
  // ring: the line was lost, and the peer saw a bare end of stream (1 connection in ~800 under
  // heavy load). That needs the ringing thread preempted between its unlock and its post, so this
  // test seldom meets the race itself; what it checks every run is that the line arrives.
  runtime rt(test::two_schedulers());
  std::promise<std::uint16_t> port;
  std::atomic<bool> stop{false}, noise_started{false};
  std::atomic<int> noise_sends{0};
  pid server = rt.spawn_fn([&](context& ctx, message& m) {
    if (m.is<int>()) port.set_value(ctx.tcp_listen("127.0.0.1", 0, 512).second);
    if (auto* a = m.get<tcp_accepted>()) {
      if (!noise_started.exchange(true)) {  // the first connection is the noise's: a sender that never stops
        auto sock = std::make_shared<port_id>();
        pid noise = rt.spawn_fn([&, sock](context& c, message& n) {
          if (auto* g = n.get<port_given>()) {
            *sock = g->port;
            c.send(c.self(), 0);
          }
          if (n.is<int>() && !stop.load()) {
            c.tcp_send(*sock, std::string("."));
            ++noise_sends;
            c.send(c.self(), 0);
          }
        });
        ctx.give_port(a->socket, noise);
        return;
      }
      pid h = rt.spawn_fn([](context& c, message& n) {
        if (auto* g = n.get<port_given>()) {
          c.tcp_send(g->port, std::string("bye\n"));
          c.close_port(g->port);
          c.exit("normal");
        }
      });
      ctx.give_port(a->socket, h);
    }
  });
  rt.send(server, 0);
  const auto p = port.get_future().get();
  int noise_fd = connect_to(p);
  std::thread sink([&] { read_all(noise_fd); });
  int lost = 0;
  for (int round = 0; round < 20; ++round) {
    std::vector<int> fds;
    for (int i = 0; i < 50; ++i) fds.push_back(connect_to(p));
    for (int fd : fds) {
      if (read_all(fd) != "bye\n") ++lost;
      ::close(fd);
    }
  }
  CHECK(lost == 0);
  CHECK(noise_sends.load() > 0);
  stop = true;
  ::shutdown(noise_fd, SHUT_RDWR);
  sink.join();
  ::close(noise_fd);
}

TEST_CASE("a socket closed at its send-buffer limit tells its owner how many sends were not written") {
  runtime rt(test::two_schedulers());
  std::promise<std::uint16_t> port;
  std::promise<tcp_closed> closed;
  pid server = rt.spawn_fn([&](context& ctx, message& m) {
    if (m.is<int>()) port.set_value(ctx.tcp_listen("127.0.0.1", 0).second);
    if (auto* a = m.get<tcp_accepted>()) {
      binary chunk(std::string(64 * 1024, 'x'));
      for (std::size_t i = 0; i < 2 * port_send_buffer_limit / chunk.size(); ++i) ctx.tcp_send(a->socket, chunk);
    }
    if (auto* c = m.get<tcp_closed>()) closed.set_value(*c);
  });
  rt.send(server, 0);
  int fd = connect_to(port.get_future().get());  // and never reads
  auto c = closed.get_future().get();
  CHECK(c.reason == "send buffer full");
  CHECK(c.unsent >= port_send_buffer_limit / (64 * 1024));
  ::close(fd);
}

namespace {
/// Send i of the batching test: its number, then filler; every tenth is large (up to ~21 KB), so a
/// gathered write overruns what the socket takes and stops part-way through a send.
std::string numbered(int i) {
  const std::size_t filler = i % 10 == 0 ? 1000 + static_cast<std::size_t>(i * 7919 % 20000) : static_cast<std::size_t>(i % 80);
  return fmt::format("{:06}:{}\n", i, std::string(filler, static_cast<char>('a' + i % 26)));
}
}  // namespace

TEST_CASE("many sends in a row to a socket that is not read yet all arrive in order and byte-exact") {
  runtime rt(test::two_schedulers());
  std::promise<std::uint16_t> port;
  std::promise<void> sent;
  // ~3.8 MB: just under the limit (so the socket cannot close with "send buffer full"), more than the
  // kernel takes while the client reads nothing, so writes stop part-way and resume.
  constexpr int sends = 3300;
  std::string want;
  for (int i = 0; i < sends; ++i) want += numbered(i);
  REQUIRE(want.size() < port_send_buffer_limit);
  pid server = rt.spawn_fn([&](context& ctx, message& m) {
    if (m.is<int>()) port.set_value(ctx.tcp_listen("127.0.0.1", 0).second);
    if (auto* a = m.get<tcp_accepted>()) {
      // Owned strings and shared binaries, interleaved: both kinds go into the same gathered writes.
      for (int i = 0; i < sends; ++i) {
        if (i % 2) ctx.tcp_send(a->socket, binary(numbered(i)));
        else ctx.tcp_send(a->socket, numbered(i));
      }
      ctx.close_port(a->socket);
      sent.set_value();
    }
  });
  rt.send(server, 0);
  int fd = connect_to(port.get_future().get(), 4096);
  sent.get_future().get();
  // Read nothing until the kernel holds 1 MB of it: the socket fills and the writes after wait for it.
  REQUIRE(test::eventually([&] { return rt.ports().bytes_out >= (1u << 20); }));
  const std::string got = read_all(fd);
  CHECK(got.size() == want.size());
  CHECK(got == want);
  ::close(fd);
}

TEST_CASE("two thousand connections made at once are all accepted and each gets its own greeting") {
  runtime rt(test::two_schedulers());
  std::promise<std::uint16_t> port;
  std::atomic<int> accepted{0};
  pid server = rt.spawn_fn([&](context& ctx, message& m) {
    if (m.is<int>()) port.set_value(ctx.tcp_listen("127.0.0.1", 0).second);
    if (auto* a = m.get<tcp_accepted>()) {
      ctx.tcp_send(a->socket, fmt::format("hello {}\n", a->peer));
      ctx.close_port(a->socket);
      accepted.fetch_add(1);
    }
  });
  rt.send(server, 0);
  const auto p = port.get_future().get();
  constexpr int clients = 2000;
  std::vector<int> fds;
  // The kernel completes each handshake into the listen queue, so these return before any accept.
  for (int i = 0; i < clients; ++i) fds.push_back(connect_to(p));
  CHECK(test::eventually([&] { return accepted.load() == clients; }, std::chrono::seconds(60)));
  for (int fd : fds) {
    sockaddr_in local{};
    socklen_t len = sizeof local;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len);
    CHECK(read_all(fd) == fmt::format("hello 127.0.0.1:{}\n", ntohs(local.sin_port)));
    ::close(fd);
  }
}
