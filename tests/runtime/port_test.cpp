#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <string>
#include <system_error>
#include <vector>

#include "agner/runtime/supervisor.hpp"
#include "support.hpp"

using namespace agner;
using agner::test::eventually;

namespace {

/// A blocking loopback client; reads give up after 30 s so a bug fails instead of hanging.
class client {
 public:
  explicit client(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    timeval tv{30, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  }
  ~client() { ::close(fd_); }
  void write(const std::string& s) {
    for (std::size_t done = 0; done < s.size();) {
      auto n = ::send(fd_, s.data() + done, s.size() - done, MSG_NOSIGNAL);
      REQUIRE(n > 0);
      done += static_cast<std::size_t>(n);
    }
  }
  /// Reads exactly n bytes, or fewer if the peer closes.
  std::string read(std::size_t n) {
    std::string out;
    char buf[16384];
    while (out.size() < n) {
      auto got = ::recv(fd_, buf, std::min(sizeof buf, n - out.size()), 0);
      if (got <= 0) break;
      out.append(buf, static_cast<std::size_t>(got));
    }
    return out;
  }
  /// True when the peer has closed the connection.
  bool closed_by_peer() {
    char c;
    return ::recv(fd_, &c, 1, 0) == 0;
  }

 private:
  int fd_;
};

/// Echoes everything back on the sockets it owns; reports the listening port.
class echo_server final : public behaviour {
 public:
  explicit echo_server(std::promise<std::uint16_t>& port) : port_(port) {}
  void init(context& ctx) { port_.set_value(ctx.tcp_listen("127.0.0.1", 0).second); }
  void handle(context& ctx, message& m) override {
    if (auto* a = m.get<tcp_accepted>()) ctx.activate(a->socket);
    if (auto* d = m.get<tcp_data>()) {
      ctx.tcp_send(d->socket, std::move(d->bytes));
      ctx.activate(d->socket);
    }
  }

 private:
  std::promise<std::uint16_t>& port_;
};

/// Listens on `port` (0 the first time, then the port it got), as MatchStream's client_listener does.
class fixed_listener final : public behaviour {
 public:
  fixed_listener(std::atomic<std::uint16_t>& port, std::atomic<int>& listens) : port_(port), listens_(listens) {}
  void init(context& ctx) {
    port_ = ctx.tcp_listen("127.0.0.1", port_).second;
    ++listens_;
  }
  void handle(context&, message&) override {}

 private:
  std::atomic<std::uint16_t>& port_;
  std::atomic<int>& listens_;
};

}  // namespace

TEST_CASE("a listener killed and restarted by its supervisor listens again on the same port") {
  runtime rt(test::two_schedulers());
  std::atomic<std::uint16_t> port{0};
  std::atomic<int> listens{0};
  child_spec spec;
  spec.id = "listener";
  spec.start = [&](context& ctx) {
    return ctx.spawn_link_with<fixed_listener>(spawn_options{.name = "listener"}, port, listens);
  };
  // Three restarts in 60 s at most: one failed listen would show as a second restart.
  pid sup = rt.spawn<supervisor>(supervisor_flags{restart_strategy::one_for_one, 3, std::chrono::seconds(60)},
                                 std::vector<child_spec>{spec});
  for (int kill = 0; kill < 3; ++kill) {
    pid before;
    REQUIRE(eventually([&] {
      auto p = rt.whereis("listener");
      if (p) before = *p;
      return p.has_value() && listens == kill + 1;  // this one is listening
    }));
    rt.exit(before, "kill");
    REQUIRE(eventually([&] {
      auto p = rt.whereis("listener");
      return !rt.process_info(sup) || (p && *p != before);
    }));
    REQUIRE(rt.process_info(sup).has_value());
  }
  REQUIRE(eventually([&] { return listens == 4 || !rt.process_info(sup); }));
  client c(port);  // the third restart listens where the first did
  CHECK(rt.process_info(sup).has_value());
}

TEST_CASE("a TCP echo through a port moves every byte, and the byte counters match") {
  runtime rt(test::two_schedulers());
  std::promise<std::uint16_t> port;
  rt.spawn<echo_server>(port);
  client c(port.get_future().get());
  std::string payload;
  for (int i = 0; i < 200000; ++i) payload.push_back(static_cast<char>('a' + i % 26));
  auto reader = std::async(std::launch::async, [&] { return c.read(payload.size()); });
  c.write(payload);
  CHECK(reader.get() == payload);
  CHECK(eventually([&] { return rt.ports().bytes_out == payload.size(); }));
  const auto counters = rt.ports();
  CHECK(counters.bytes_in == payload.size());
  CHECK(counters.accepted == 1);
  CHECK(counters.open == 2);  // the listener and the connection
}

TEST_CASE("sockets echoing at once each get back their own bytes, though every read lands in one buffer") {
  runtime rt(test::two_schedulers());
  std::promise<std::uint16_t> port;
  rt.spawn<echo_server>(port);
  const auto number = port.get_future().get();
  constexpr int sockets = 8;
  std::vector<std::future<bool>> echoed;
  for (int k = 0; k < sockets; ++k)
    echoed.push_back(std::async(std::launch::async, [number, k] {
      client c(number);
      std::string payload;
      for (int i = 0; i < 100000; ++i) payload.push_back(static_cast<char>('a' + (k * 3 + i % 7) % 26));
      auto reader = std::async(std::launch::async, [&] { return c.read(payload.size()); });
      c.write(payload);
      return reader.get() == payload;
    }));
  for (int k = 0; k < sockets; ++k) CHECK_MESSAGE(echoed[static_cast<std::size_t>(k)].get(), "socket ", k, " got bytes that were not its own");
  CHECK(eventually([&] { return rt.ports().bytes_in == sockets * 100000u; }));
}

TEST_CASE("when the owner of a socket ends, the socket closes") {
  runtime rt(test::two_schedulers());
  std::promise<std::uint16_t> port;
  pid server = rt.spawn<echo_server>(port);
  client c(port.get_future().get());
  c.write("ping");
  CHECK(c.read(4) == "ping");
  rt.exit(server, "kill");
  CHECK(c.closed_by_peer());
  CHECK(eventually([&] { return rt.ports().open == 0; }));
}

TEST_CASE("a port given to another process delivers its data there") {
  runtime rt(test::two_schedulers());
  std::promise<std::uint16_t> port;
  std::promise<std::string> got;
  pid handler = rt.spawn_fn([&](context& ctx, message& m) {
    if (auto* g = m.get<port_given>()) ctx.activate(g->port);
    if (auto* d = m.get<tcp_data>()) {
      got.set_value(d->bytes);
      ctx.tcp_send(d->socket, "ok");
    }
  });
  pid acceptor = rt.spawn_fn([&](context& ctx, message& m) {
    if (m.is<int>()) port.set_value(ctx.tcp_listen("127.0.0.1", 0).second);
    if (auto* a = m.get<tcp_accepted>()) ctx.give_port(a->socket, handler);
  });
  rt.send(acceptor, 0);
  client c(port.get_future().get());
  c.write("hello");
  CHECK(got.get_future().get() == "hello");
  CHECK(c.read(2) == "ok");
}

TEST_CASE("listening where it cannot fails with an error naming the address") {
  runtime rt(test::two_schedulers());
  std::promise<std::string> error;
  pid p = rt.spawn_fn([&](context& ctx, message&) {
    try {
      ctx.tcp_listen("not-an-address", 0);
    } catch (const std::system_error& e) {
      error.set_value(e.what());
    }
  });
  rt.send(p, 0);
  CHECK(error.get_future().get().starts_with("cannot listen on 'not-an-address': not an IP address"));
}

TEST_CASE("blocking work runs off the schedulers and its result comes back to the process") {
  runtime rt(test::two_schedulers());
  std::promise<std::string> result;
  pid p = rt.spawn_fn([&](context& ctx, message& m) {
    if (m.is<int>()) {
      ctx.run_blocking([] { return std::string("done"); },
                       [&](context&, reply& r) { result.set_value(r.ok() ? *r.get<std::string>() : "failed"); });
    }
  });
  rt.send(p, 0);
  CHECK(result.get_future().get() == "done");
  std::promise<std::string> failure;
  pid q = rt.spawn_fn([&](context& ctx, message& m) {
    if (m.is<int>()) {
      ctx.run_blocking([]() -> int { throw std::runtime_error("disk on fire"); },
                       [&](context&, reply& r) {
                         failure.set_value(r.outcome() == reply::status::failed ? *r.get<std::string>() : "?");
                       });
    }
  });
  rt.send(q, 0);
  CHECK(failure.get_future().get() == "disk on fire");
}

namespace {
/// Counts what it accepts and keeps the sockets; remembers whether its listener was closed.
class holding_listener final : public behaviour {
 public:
  holding_listener(std::promise<std::uint16_t>& port, std::atomic<int>& accepted, std::atomic<bool>& lost)
      : port_(port), accepted_(accepted), lost_(lost) {}
  void init(context& ctx) { port_.set_value(ctx.tcp_listen("127.0.0.1", 0, 256).second); }
  void handle(context&, message& m) override {
    if (m.is<tcp_accepted>()) ++accepted_;
    if (m.is<tcp_closed>()) lost_ = true;
  }

 private:
  std::promise<std::uint16_t>& port_;
  std::atomic<int>& accepted_;
  std::atomic<bool>& lost_;
};

/// The lowest free descriptor number: a soft RLIMIT_NOFILE there leaves no descriptor to take.
int lowest_free_descriptor() {
  const int fd = ::open("/dev/null", O_RDONLY);
  ::close(fd);
  return fd;
}
}  // namespace

TEST_CASE("a listener that runs out of descriptors keeps listening and accepts once some are free") {
  // As an Erlang acceptor retries after {error, emfile}: EMFILE is the node's trouble, not the listener's.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // The sanitizers need descriptors of their own (UBSan's vptr check opens a pipe to probe memory),
  // and with none left they report errors that are not there: this case runs in the plain build.
  MESSAGE("skipped under sanitizers: they need free descriptors");
  return;
#endif
  runtime rt(test::two_schedulers());
  std::promise<std::uint16_t> port;
  std::atomic<int> accepted{0};
  std::atomic<bool> lost{false};
  rt.spawn<holding_listener>(port, accepted, lost);
  const std::uint16_t p = port.get_future().get();
  std::vector<int> clients;
  for (int i = 0; i < 8; ++i) clients.push_back(::socket(AF_INET, SOCK_STREAM, 0));
  rlimit original{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &original) == 0);
  struct restore {
    rlimit limit;
    ~restore() { ::setrlimit(RLIMIT_NOFILE, &limit); }
  } guard{original};
  // No descriptor left: the client sockets exist already, and connecting takes none.
  rlimit none = original;
  none.rlim_cur = static_cast<rlim_t>(lowest_free_descriptor());
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &none) == 0);
  for (int fd : clients) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(p);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  }
  CHECK(eventually([&] { return rt.ports().accept_failures >= 1; }));
  CHECK(accepted.load() == 0);
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &original) == 0);
  CHECK(eventually([&] { return accepted.load() == 8; }));
  CHECK_FALSE(lost.load());
  for (int fd : clients) ::close(fd);
}
