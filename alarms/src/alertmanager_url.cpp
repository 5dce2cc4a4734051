#include "agner/alarms/alertmanager_url.hpp"

#include <fmt/format.h>

namespace agner::alarms {
namespace {

bool host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}
bool ipv6_char(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.'; }

}  // namespace

std::string escaped_for_log(std::string_view text, std::size_t cap) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (out.size() >= cap) return out + "...";
    const auto ch = static_cast<unsigned char>(text[i]);
    if (ch <= 0x20 || ch >= 0x7f || ch == '\\') out += fmt::format("\\x{:02x}", ch);
    else out += static_cast<char>(ch);
  }
  return out;
}

std::variant<alertmanager_url, std::string> parse_alertmanager_url(std::string_view url) {
  if (url.size() > max_alertmanager_url_bytes)
    return fmt::format("is {} bytes long; at most {} are taken", url.size(), max_alertmanager_url_bytes);
  for (std::size_t i = 0; i < url.size(); ++i) {
    const auto ch = static_cast<unsigned char>(url[i]);
    const std::size_t at = i + 1;  // counted from 1, as an editor does
    if (ch < 0x20 || ch == 0x7f) return fmt::format("holds a control character (\\x{:02x}) at byte {}", ch, at);
    if (ch == ' ') return fmt::format("holds a space at byte {} (write it %20)", at);
    if (ch >= 0x80) return fmt::format("holds a byte that is not ASCII (\\x{:02x}) at byte {} (percent-encode it)", ch, at);
  }
  constexpr std::string_view scheme = "http://";
  if (!url.starts_with(scheme)) {
    const auto colon = url.find("://");
    if (colon != std::string_view::npos && colon > 0)
      return fmt::format("has the scheme '{}'; only http:// is supported (keep Alertmanager on loopback or a private network)",
                         url.substr(0, colon));
    return "must be http://HOST[:PORT][/PATH] (Alertmanager's /api/v2/alerts)";
  }
  const std::string_view rest = url.substr(scheme.size());
  const std::size_t end = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, end);
  std::string_view path = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
  if (path.find('#') != std::string_view::npos) return "holds a '#' fragment, which is never sent to a server";
  if (authority.find('@') != std::string_view::npos) return "holds credentials (USER@HOST); they are not supported";
  if (authority.empty()) return "has no host (http://HOST[:PORT][/PATH])";
  alertmanager_url out;
  std::string_view host, port;
  if (authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return "has an IPv6 address with '[' and no ']'";
    host = authority.substr(1, close - 1);
    if (host.empty()) return "has an empty IPv6 address ([])";
    for (char c : host)
      if (!ipv6_char(c)) return fmt::format("has an IPv6 address '{}' with a '{}' in it", host, c);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') return "has something other than ':PORT' after the IPv6 address's ']'";
    if (!after.empty()) port = after.substr(1);
    if (after.size() == 1) return "has ':' and no port after it";
    out.host_header = fmt::format("[{}]", host);
  } else {
    if (authority.find(']') != std::string_view::npos) return "has an IPv6 address with ']' and no '['";
    const auto colon = authority.find(':');
    if (colon != std::string_view::npos && authority.find(':', colon + 1) != std::string_view::npos)
      return "has more than one ':' in its host: an IPv6 address must be in brackets (http://[::1]:9093/api/v2/alerts)";
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) return "has ':' and no port after it";
    }
    if (host.empty()) return "has no host (http://HOST[:PORT][/PATH])";
    for (char c : host)
      if (!host_char(c)) return fmt::format("has a '{}' in its host '{}' (letters, digits, '-', '.' and '_' only)", c, host);
    out.host_header = std::string(host);
  }
  if (!port.empty()) {
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos)
      return fmt::format("has the port '{}'; a port is a number from 1 to 65535", port);
    const int n = std::stoi(std::string(port));
    if (n < 1 || n > 65535) return fmt::format("has the port {}; a port is a number from 1 to 65535", n);
    out.port = std::to_string(n);
    out.host_header += ":" + out.port;
  } else {
    out.port = "80";
  }
  out.host = std::string(host);
  if (path.empty()) out.target = "/api/v2/alerts";
  else if (path.front() != '/') out.target = "/api/v2/alerts" + std::string(path);  // http://h?x: no path, a query
  else out.target = std::string(path);
  return out;
}

}  // namespace agner::alarms
