#pragma once
// Helpers for the exporter tests: raw HTTP over a real loopback socket, and the series check every
// scrape in these tests goes through (no two samples of one scrape share name and labels).
#include <utility>  // before Asio (Boost 1.74's awaitable.hpp needs std::exchange)

#include <algorithm>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <boost/asio.hpp>
#include <doctest/doctest.h>

#include "agner/exporter/exporter.hpp"

namespace agner::test {

struct http_answer {
  int code = 0;
  std::string head, body;  ///< head: status line and headers
};

/// Sends `request` (whole, as written) to 127.0.0.1:port and reads until the server closes.
inline http_answer send_raw(std::uint16_t port, const std::string& request) {
  namespace asio = boost::asio;
  asio::io_context io;
  asio::ip::tcp::socket s(io);
  s.connect({asio::ip::make_address("127.0.0.1"), port});
  asio::write(s, asio::buffer(request));
  std::string all;
  boost::system::error_code ec;
  asio::read(s, asio::dynamic_buffer(all), ec);
  http_answer a;
  const auto split = all.find("\r\n\r\n");
  a.code = all.size() > 12 ? std::stoi(all.substr(9, 3)) : 0;
  a.head = all.substr(0, split);
  a.body = split == std::string::npos ? "" : all.substr(split + 4);
  return a;
}

/// The series (name and labels) that appear on more than one sample line of `scrape`.
inline std::vector<std::string> duplicate_series(const std::string& scrape) {
  std::set<std::string> seen;
  std::vector<std::string> twice;
  std::istringstream in(scrape);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    const auto series = line.substr(0, line.rfind(' '));
    if (!seen.insert(series).second) twice.push_back(series);
  }
  return twice;
}

/// `method path` over HTTP/1.0; the body of a GET /metrics is checked for duplicate series.
inline http_answer http_request(std::uint16_t port, const std::string& method, const std::string& path = "/metrics") {
  auto a = send_raw(port, method + " " + path + " HTTP/1.0\r\nHost: localhost\r\n\r\n");
  if (a.code == 200) CHECK_MESSAGE(duplicate_series(a.body).empty(), "a series served twice: ", duplicate_series(a.body).front());
  return a;
}

/// GET http://127.0.0.1:port/path; the status code and the body.
inline std::pair<int, std::string> get(std::uint16_t port, const std::string& path = "/metrics") {
  auto a = http_request(port, "GET", path);
  return {a.code, a.body};
}

/// The value of the first sample line starting with `series` ("name" or "name{labels}"); -1 if none.
inline double sample(const std::string& body, const std::string& series) {
  std::istringstream in(body);
  for (std::string line; std::getline(in, line);)
    if (line.starts_with(series + " ")) return std::stod(line.substr(series.size() + 1));
  return -1;
}

/// Options for a test exporter: loopback, a port the system picks, a fast sampler.
inline agner::exporter::options loopback() {
  agner::exporter::options o;
  o.listen = "127.0.0.1:0";
  o.sample_every = std::chrono::milliseconds(10);
  o.node_name = "exptest";
  return o;
}

}  // namespace agner::test
