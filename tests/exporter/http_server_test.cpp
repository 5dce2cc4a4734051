// The /metrics HTTP server: methods and paths, keep-alive, limits, deadlines, and a scrape that
// still answers while idle and slow connections hold the server.
#include <doctest/doctest.h>

#include <utility>  // before Asio (Boost 1.74's awaitable.hpp needs std::exchange)

#include <sys/resource.h>

#include <atomic>
#include <boost/asio.hpp>
#include <thread>

#include <fmt/format.h>

#include "agner/exporter/exporter.hpp"
#include "scrape.hpp"
#include "support.hpp"

using namespace agner;
using agner::test::eventually;
using agner::test::send_raw;
using agner::test::loopback;
using agner::test::http_request;
using agner::test::sample;
namespace asio = boost::asio;

namespace {

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

/// An open connection to 127.0.0.1:port that sends nothing unless told.
struct peer {
  peer(asio::io_context& io, std::uint16_t port) : s(io) { s.connect({asio::ip::make_address("127.0.0.1"), port}); }
  asio::ip::tcp::socket s;
};

}  // namespace

TEST_CASE("HEAD /metrics answers the GET headers without a body, other methods 405 with Allow, other paths 404") {
  runtime rt(test::two_schedulers());
  exporter::exporter ex(rt, loopback());
  const auto got = http_request(ex.port(), "GET");
  REQUIRE(got.code == 200);
  CHECK(got.head.find("Content-Type: text/plain; version=0.0.4; charset=utf-8") != std::string::npos);
  const auto head = http_request(ex.port(), "HEAD");
  CHECK(head.code == 200);
  CHECK(head.body.empty());
  CHECK(head.head.find("Content-Type: text/plain; version=0.0.4") != std::string::npos);
  CHECK(head.head.find("Content-Length: ") != std::string::npos);
  for (const char* m : {"POST", "PUT", "DELETE", "OPTIONS", "PATCH"}) {
    const auto a = http_request(ex.port(), m);
    CHECK_MESSAGE(a.code == 405, m);
    CHECK_MESSAGE(a.head.find("Allow: GET, HEAD") != std::string::npos, m);
  }
  CHECK(http_request(ex.port(), "GET", "/").code == 404);
  CHECK(http_request(ex.port(), "HEAD", "/nothing").code == 404);
  CHECK(http_request(ex.port(), "GET", "/metrics?x=1").code == 200);
  CHECK(http_request(ex.port(), "GET", std::string(3000, '/')).code == 404);
}

TEST_CASE("a kept-alive connection serves one scrape after another") {
  runtime rt(test::two_schedulers());
  exporter::exporter ex(rt, loopback());
  const std::string one = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
  const auto a = send_raw(ex.port(), one + one + "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(count_of(a.head + a.body, "HTTP/1.1 200 OK") == 3);
}

TEST_CASE("a request past the size limit or malformed gets a 400, and the server keeps serving") {
  runtime rt(test::two_schedulers());
  exporter::exporter ex(rt, loopback());
  CHECK(send_raw(ex.port(), "GET /metrics HTTP/1.0\r\nX-Big: " + std::string(20'000, 'a') + "\r\n\r\n").code == 400);
  CHECK(send_raw(ex.port(), "NONSENSE\r\n\r\n").code == 400);
  CHECK(http_request(ex.port(), "GET").code == 200);
}

TEST_CASE("a request far past the limit, still being sent, gets its 400 and a clean end, not a reset") {
  // The server reads the rest and drops it before it closes: closing with it unread would send an
  // RST, failing the client's send and perhaps throwing the 400 away before it is read.
  runtime rt(test::two_schedulers());
  exporter::exporter ex(rt, loopback());
  asio::io_context io;
  peer p(io, ex.port());
  boost::system::error_code ec;
  asio::write(p.s, asio::buffer("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(1 << 20, 'a')), ec);
  CHECK_FALSE(ec);
  std::string all;
  asio::read(p.s, asio::dynamic_buffer(all), ec);
  CHECK(ec == asio::error::eof);
  CHECK(all.starts_with("HTTP/1.1 400"));
  CHECK(http_request(ex.port(), "GET").code == 200);
}

TEST_CASE("a connection that never finishes its request is closed at the header deadline") {
  runtime rt(test::two_schedulers());
  auto o = loopback();
  o.http.header_timeout = std::chrono::milliseconds(200);
  exporter::exporter ex(rt, o);
  asio::io_context io;
  peer slow(io, ex.port());
  asio::write(slow.s, asio::buffer(std::string("GET /metrics HTTP/1.1\r\nHost: x\r\n")));  // no blank line
  std::string rest;
  boost::system::error_code ec;
  asio::read(slow.s, asio::dynamic_buffer(rest), ec);  // returns when the server closes
  CHECK(ec == asio::error::eof);
  CHECK(rest.empty());
  CHECK(sample(http_request(ex.port(), "GET").body, R"(agner_metrics_connections_closed_total{reason="deadline"})") >= 1);
}

TEST_CASE("a scrape is answered, not starved, while 1,000 idle connections are open and 8 slow headers trickle") {
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  REQUIRE_MESSAGE(lim.rlim_max >= 4000, "this test needs 4,000 file descriptors");
  if (lim.rlim_cur < 4000) {
    lim.rlim_cur = std::min<rlim_t>(lim.rlim_max, 20'000);
    setrlimit(RLIMIT_NOFILE, &lim);
  }
  runtime rt(test::two_schedulers());
  // Deadlines far longer than any scrape: a scrape answered before them was not freed by an
  // attacker's timeout, however loaded the machine is.
  auto o = loopback();
  o.http.header_timeout = o.http.idle_timeout = std::chrono::seconds(120);
  exporter::exporter ex(rt, o);
  const auto cap = exporter::http_limits{}.max_connections;
  asio::io_context io;
  std::vector<std::unique_ptr<peer>> idle;
  for (int i = 0; i < 1000; ++i) idle.push_back(std::make_unique<peer>(io, ex.port()));
  // Slow headers: one byte each, again and again, never the blank line that ends the request.
  std::vector<std::unique_ptr<peer>> slow;
  for (int i = 0; i < 8; ++i) slow.push_back(std::make_unique<peer>(io, ex.port()));
  std::atomic<bool> done{false};
  std::thread trickle([&] {
    const std::string header = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    for (std::size_t k = 0; !done; ++k) {
      for (auto& p : slow) {
        boost::system::error_code ec;
        asio::write(p->s, asio::buffer(k < header.size() ? header.substr(k, 1) : std::string("a")), ec);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // pacing the attack, not a timing assertion
    }
  });
  for (int round = 0; round < 3; ++round) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto a = http_request(ex.port(), "GET");
    const auto took = std::chrono::steady_clock::now() - t0;
    CHECK(a.code == 200);
    CHECK(sample(a.body, "agner_processes") >= 0);
    // Never behind the attackers: answered well before any of their deadlines could free a slot
    // (on an idle machine it takes milliseconds; agner-bench, not this test, shows the speed).
    CHECK_MESSAGE(took < o.http.header_timeout / 2, "scrape took ", std::chrono::duration<double>(took).count(), " s");
    // Every connection the kernel queued before ours was accepted first; past the cap the idlest went.
    CHECK(sample(a.body, R"(agner_metrics_connections_closed_total{reason="evicted"})") >= static_cast<double>(1008 - cap));
    CHECK(sample(a.body, "agner_metrics_connections") <= static_cast<double>(cap));
  }
  done = true;
  trickle.join();
}

TEST_CASE("a busy metrics port, a bad port and bad limits are refused with the reason") {
  runtime rt(test::two_schedulers());
  exporter::exporter first(rt, loopback());
  auto o = loopback();
  o.listen = fmt::format("127.0.0.1:{}", first.port());
  CHECK_THROWS_WITH_AS(exporter::exporter(rt, o), doctest::Contains("Address already in use"), std::runtime_error);
  o.listen = "127.0.0.1:99999";
  CHECK_THROWS_WITH_AS(exporter::exporter(rt, o), doctest::Contains("the port must be a number from 0 to 65535"), std::runtime_error);
  o.listen = "127.0.0.1:abc";
  CHECK_THROWS_WITH_AS(exporter::exporter(rt, o), doctest::Contains("the port must be a number"), std::runtime_error);
  o = loopback();
  o.http.max_connections = 0;
  CHECK_THROWS_WITH_AS(exporter::exporter(rt, o), doctest::Contains("max_connections must be at least 1"), std::runtime_error);
  o = loopback();
  o.http.header_timeout = std::chrono::milliseconds(0);
  CHECK_THROWS_WITH_AS(exporter::exporter(rt, o), doctest::Contains("must be positive"), std::runtime_error);
  o = loopback();
  o.sample_every = std::chrono::milliseconds(0);
  CHECK_THROWS_WITH_AS(exporter::exporter(rt, o), doctest::Contains("scan interval must be positive"), std::runtime_error);
  o.sample_every = std::chrono::milliseconds(10);
  o.listen = "192.0.2.1:0";  // not on this host: allowed, but cannot bind
  o.allow_remote = true;
  CHECK_THROWS_WITH_AS(exporter::exporter(rt, o), doctest::Contains("Cannot assign requested address"), std::runtime_error);
}
