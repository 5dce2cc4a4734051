// The HTTP server with a handler of its own (agner/exporter/http_server.hpp), as MatchStream uses
// it: what the handler sees, what the server adds (HEAD, error answers, closing), its counters.
#include <doctest/doctest.h>

#include <utility>  // before Asio (Boost 1.74's awaitable.hpp needs std::exchange)

#include <stdexcept>
#include <string>

#include "agner/exporter/http_server.hpp"
#include "scrape.hpp"

using namespace agner::exporter;
using agner::test::send_raw;

namespace {

/// Echoes what it saw: "<method> <target> <path> <x-echo header>"; /boom throws; /missing is a 404.
http_response echo(const http_request& req, const http_stats&) {
  if (req.path == "/boom") throw std::runtime_error("the handler broke");
  std::string header = "-";
  for (const auto& [name, value] : req.headers)
    if (name == "X-Echo") header = value;
  http_response a{req.path == "/missing" ? 404 : 200, "text/x-echo", "", {{"X-Extra", "yes"}}, false};
  a.body = std::string(req.method) + " " + std::string(req.target) + " " + std::string(req.path) + " " + header;
  return a;
}

http_response shout(int status, const std::string& reason) { return {status, "text/x-error", "ERROR " + reason, {}, false}; }

}  // namespace

TEST_CASE("a handler sees the method, target, path and headers and its answer is sent as given") {
  http_server server("127.0.0.1", 0, http_limits{}, echo);
  const auto a = send_raw(server.port(), "PATCH /a/b?c=d HTTP/1.0\r\nX-Echo: hello\r\n\r\n");
  CHECK(a.code == 200);
  CHECK(a.body == "PATCH /a/b?c=d /a/b hello");
  CHECK(a.head.find("Content-Type: text/x-echo") != std::string::npos);
  CHECK(a.head.find("X-Extra: yes") != std::string::npos);
  CHECK(server.stats().accepted == 1);
}

TEST_CASE("HEAD of any status answers its headers without the body on a kept-alive connection") {
  http_server server("127.0.0.1", 0, http_limits{}, echo);
  // a stray body after the HEAD's headers would be read as the start of the next answer
  const auto a = send_raw(server.port(), "HEAD /missing HTTP/1.1\r\nHost: x\r\n\r\n"
                                         "GET /missing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(a.code == 404);
  const std::string get_body = "GET /missing /missing -";
  CHECK(a.body.rfind("HTTP/1.1 404", 0) == 0);  // the second answer follows the first's headers at once
  CHECK(a.body.find("Content-Length: " + std::to_string(get_body.size())) != std::string::npos);
  CHECK(a.body.substr(a.body.size() - get_body.size()) == get_body);
  CHECK(a.head.find("Content-Length: " + std::to_string(std::string("HEAD /missing /missing -").size())) != std::string::npos);
}

TEST_CASE("a handler that throws gets a 500 in the error answer's shape, closed, and the server keeps serving") {
  http_server server("127.0.0.1", 0, http_limits{}, echo, shout);
  const auto a = send_raw(server.port(), "GET /boom HTTP/1.1\r\nHost: x\r\n\r\n");  // keep-alive asked: closed anyway
  CHECK(a.code == 500);
  CHECK(a.body == "ERROR the handler broke");
  CHECK(a.head.find("Content-Type: text/x-error") != std::string::npos);
  CHECK(send_raw(server.port(), "GET /fine HTTP/1.0\r\n\r\n").code == 200);
}

TEST_CASE("a malformed request gets a 400 naming the reason in the error answer's shape, then closed") {
  http_server server("127.0.0.1", 0, http_limits{}, echo, shout);
  const auto a = send_raw(server.port(), "GET /x HTTP/1.1\r\nX-Big: " + std::string(20'000, 'a') + "\r\n\r\n");
  CHECK(a.code == 400);
  CHECK(a.body.rfind("ERROR bad request: ", 0) == 0);
  CHECK(a.body.find("header limit") != std::string::npos);
}

TEST_CASE("an address that is not an IP address or is in use is refused with the reason") {
  CHECK_THROWS_WITH_AS(http_server("no-such-host", 0, http_limits{}, echo), doctest::Contains("'no-such-host' is not an IP address"),
                       std::runtime_error);
  http_server first("127.0.0.1", 0, http_limits{}, echo);
  const auto where = "127.0.0.1:" + std::to_string(first.port());
  CHECK_THROWS_WITH_AS(http_server("127.0.0.1", first.port(), http_limits{}, echo), doctest::Contains(where.c_str()),
                       std::runtime_error);
}
