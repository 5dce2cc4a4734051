#pragma once
/// For the notifier tests: a loopback listener for a fake Alertmanager, and the lines a notifier logged.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace agner::test {

/// A listening TCP socket on 127.0.0.1 with an ephemeral port (stored in `port`), or -1.
inline int listen_loopback(int backlog, std::uint16_t& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, backlog) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    return -1;
  port = ntohs(a.sin_port);
  return fd;
}

/// The lines a notifier logged: filled from its log callback (any thread), read by the test.
struct log_lines {
  std::mutex mutex;
  std::vector<std::string> lines;
  /// Whether any line holds `part`.
  bool has(const std::string& part) {
    std::lock_guard lock(mutex);
    for (auto& l : lines)
      if (l.find(part) != std::string::npos) return true;
    return false;
  }
};

}  // namespace agner::test
