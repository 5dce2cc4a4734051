#pragma once
// Which node agner-ctl talks to, and attaching to it: the same choices as etop (a node name or
// socket path, the only local node, or TCP with a cookie file).
#include <cstdint>
#include <stdexcept>
#include <string>

#include "agner/attach/client.hpp"

namespace agner::ctl {

/// A failure that ends agner-ctl with `code` (1: the node refused; 2: usage, or cannot connect);
/// what() is the one sentence printed.
class failure : public std::runtime_error {
 public:
  failure(int exit_code, const std::string& why) : std::runtime_error(why), code(exit_code) {}
  int code;
};

struct target {
  std::string display;      ///< for messages: the socket path or HOST:PORT
  std::string unix_path;    ///< a socket path or node name (empty for TCP)
  std::string host;         ///< TCP host (empty for a Unix socket)
  std::uint16_t port = 0;
  std::string cookie_file;  ///< TCP only
  std::string role = "admin";
};

/// NODE (a name or a socket path, may be empty) or `tcp` ("HOST:PORT", "[::1]:PORT"); with
/// neither, the only node in the local socket directory. Throws failure(2) naming what is wrong
/// (both given, a bad HOST:PORT, no node or several nodes here). Scans the socket directory when
/// NODE and tcp are both empty (one connect per socket file).
target resolve(const std::string& node, const std::string& tcp, const std::string& cookie_file, const std::string& role);

/// Connects, says hello and (TCP) authenticates. Throws failure(2) with "cannot attach to X: why".
introspect::client attach(const target& t);

/// True when a client_error's code is the client's own (the connection broke, the reply could not
/// be decoded, the node's proof was wrong), false when the node answered with an error.
bool connection_problem(const std::string& client_error_code);

}  // namespace agner::ctl
