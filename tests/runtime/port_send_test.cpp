#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <future>
#include <string>
#include <vector>

#include "support.hpp"

using namespace agner;

namespace {

/// A loopback client; reads give up after 30 s so a bug fails instead of hanging.
int connect_to(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
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
