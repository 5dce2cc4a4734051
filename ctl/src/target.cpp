#include "target.hpp"

#include <charconv>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "agner/introspect/server.hpp"

namespace agner::ctl {

target resolve(const std::string& node, const std::string& tcp, const std::string& cookie_file, const std::string& role) {
  target t;
  t.role = role;
  t.cookie_file = cookie_file;
  if (!node.empty() && !tcp.empty())
    throw failure(2, fmt::format("give NODE ('{}') or --tcp ('{}'), not both", node, tcp));
  if (!tcp.empty()) {
    const auto colon = tcp.rfind(':');
    int port = 0;
    if (colon != std::string::npos) {
      const char* end = tcp.data() + tcp.size();
      auto [p, ec] = std::from_chars(tcp.data() + colon + 1, end, port);
      if (ec != std::errc() || p != end) port = 0;
    }
    if (colon == std::string::npos || colon == 0 || port <= 0 || port > 65535)
      throw failure(2, fmt::format("--tcp wants HOST:PORT (like 127.0.0.1:4369), not '{}'", tcp));
    t.host = tcp.substr(0, colon);
    if (t.host.size() > 2 && t.host.front() == '[' && t.host.back() == ']') t.host = t.host.substr(1, t.host.size() - 2);
    t.port = static_cast<std::uint16_t>(port);
    t.display = tcp;
    return t;
  }
  if (!node.empty()) {
    t.unix_path = node;
    t.display = node.find('/') == std::string::npos ? fmt::format("{}/{}.sock", introspect::default_socket_dir(), node) : node;
    return t;
  }
  const auto dir = introspect::default_socket_dir();
  const auto names = introspect::local_nodes(dir);
  if (names.empty())
    throw failure(2, fmt::format("no node is running here (looked in {}); start one with agner-node, or give NODE or --tcp", dir));
  if (names.size() > 1) throw failure(2, fmt::format("several nodes run here ({}); say which with NODE", fmt::join(names, ", ")));
  t.unix_path = names.front();
  t.display = fmt::format("{}/{}.sock", dir, names.front());
  return t;
}

introspect::client attach(const target& t) {
  try {
    return t.host.empty() ? introspect::client::attach_unix(t.unix_path, t.role)
                          : introspect::client::attach_tcp(t.host, t.port, t.cookie_file, t.role);
  } catch (const std::exception& e) {
    const std::string why = e.what();
    throw failure(2, why.starts_with("cannot attach") ? why : fmt::format("cannot attach to {}: {}", t.display, why));
  }
}

bool connection_problem(const std::string& code) {
  // The client's own codes (docs/protocol.md, "Errors"); every other code is the node's answer.
  return code == "connection" || code == "bad_reply" || code == "not_the_node";
}

}  // namespace agner::ctl
