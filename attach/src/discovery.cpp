// Local-node discovery (discovery.hpp): the socket directory and the nodes answering in it.
#include "agner/attach/discovery.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it

#include <boost/asio.hpp>
#include <fmt/format.h>

namespace agner::introspect {

std::string default_socket_dir() {
  if (const char* xdg = std::getenv("XDG_RUNTIME_DIR"); xdg && *xdg) return fmt::format("{}/agner", xdg);
  return fmt::format("/tmp/agner-{}", ::geteuid());
}

std::vector<std::string> local_nodes(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.path().extension() != ".sock") continue;
    if (detail::socket_answers(e.path().string())) names.push_back(e.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

namespace detail {

bool socket_answers(const std::string& path) {
  boost::asio::io_context io;
  boost::asio::local::stream_protocol::socket s(io);
  boost::system::error_code ec;
  s.connect(boost::asio::local::stream_protocol::endpoint(path), ec);
  return !ec;
}

}  // namespace detail
}  // namespace agner::introspect
