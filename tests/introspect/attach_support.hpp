#pragma once
// What the attach tests share: a node serving both transports, and a raw connection for clients
// that do not follow the protocol.
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it

#include <boost/asio.hpp>
#include <fmt/format.h>

#include "agner/attach/client.hpp"
#include "agner/introspect/server.hpp"
#include "support.hpp"

namespace agner::test {

using namespace agner::introspect;
namespace asio = boost::asio;
using nlohmann::json;


inline std::string temp_dir() {
  char tmpl[] = "/tmp/agner-attach-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  return tmpl;
}

inline void write_file(const std::string& path, const std::string& text, mode_t mode) {
  std::ofstream(path) << text;
  ::chmod(path.c_str(), mode);
}

/// A node with both transports and a viewer key, plus an idle process and a registered one.
struct attached_node {
  std::string dir = temp_dir();
  captured_log logs;
  runtime rt{[this] {
    runtime_options o = two_schedulers();
    o.log = logs.sink();
    return o;
  }()};
  std::unique_ptr<server> srv;
  pid worker = rt.spawn_fn([](context&, message&) {}, spawn_options{.name = "worker"});

  explicit attached_node(server_limits limits = {}) {
    write_file(dir + "/admin.cookie", std::string(64, 'a'), 0600);
    write_file(dir + "/viewer.cookie", std::string(64, 'v'), 0600);
    server_options o;
    o.node_name = "testnode";
    o.unix_path = dir + "/testnode.sock";
    o.tcp_listen = "127.0.0.1:0";
    o.cookie_file = dir + "/admin.cookie";
    o.viewer_cookie_file = dir + "/viewer.cookie";
    o.limits = limits;
    srv = std::make_unique<server>(rt, o);
  }
  ~attached_node() {
    srv.reset();
    std::filesystem::remove_all(dir);
  }
  client unix_client(const std::string& role = "admin") { return client::attach_unix(srv->unix_path(), role); }
  client tcp_client(const std::string& role, const std::string& cookie) {
    return client::attach_tcp("127.0.0.1", srv->tcp_port(), dir + "/" + cookie, role);
  }
};

/// A raw connection, for clients that do not follow the protocol.
struct raw {
  asio::io_context io;
  asio::generic::stream_protocol::socket sock{io};
  std::string in;
  explicit raw(const std::string& unix_path) {
    asio::local::stream_protocol::socket s(io);
    s.connect(asio::local::stream_protocol::endpoint(unix_path));
    sock = asio::generic::stream_protocol::socket(std::move(s));
  }
  explicit raw(std::uint16_t port) {
    asio::ip::tcp::socket s(io);
    s.connect({asio::ip::make_address("127.0.0.1"), port});
    sock = asio::generic::stream_protocol::socket(std::move(s));
  }
  /// Says hello over TCP and returns the reply (with the node's nonce).
  json tcp_hello() {
    send(json({{"id", 1}, {"op", "hello"}, {"versions", {1}}, {"nonce", std::string(64, '0')}}).dump() + "\n");
    return reply();
  }
  void send(const std::string& bytes) {
    boost::system::error_code ec;
    asio::write(sock, asio::buffer(bytes), ec);
  }
  /// The next line, or "" at end of stream.
  std::string line() {
    boost::system::error_code ec;
    std::size_t n = asio::read_until(sock, asio::dynamic_buffer(in), '\n', ec);
    if (ec) return "";
    std::string l = in.substr(0, n - 1);
    in.erase(0, n);
    return l;
  }
  /// The next line as JSON (discarded at end of stream or on a malformed line).
  json reply() { return json::parse(line(), nullptr, false); }
  /// True once the node has closed the connection (reads hit end of stream).
  bool closed() {
    char c;
    boost::system::error_code ec;
    sock.read_some(asio::buffer(&c, 1), ec);
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  }
};

}  // namespace agner::test
