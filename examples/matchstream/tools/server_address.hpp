#pragma once
// HOST:PORT for the tools' --server flag.
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include <boost/asio/ip/address.hpp>

namespace matchstream::tools {

/// Splits "HOST:PORT" (HOST an IPv4 or IPv6 address, brackets optional for IPv6; PORT 1..65535).
/// Returns nullopt on anything else. Pure; cost: none worth naming.
inline std::optional<std::pair<std::string, std::uint16_t>> parse_server(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return std::nullopt;
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned port = 0;
  const char* b = text.data() + colon + 1;
  const char* e = text.data() + text.size();
  auto [p, ec] = std::from_chars(b, e, port);
  if (ec != std::errc() || p != e || port == 0 || port > 65535) return std::nullopt;
  boost::system::error_code bad;
  boost::asio::ip::make_address(host, bad);
  if (bad) return std::nullopt;
  return std::pair{host, static_cast<std::uint16_t>(port)};
}

}  // namespace matchstream::tools
