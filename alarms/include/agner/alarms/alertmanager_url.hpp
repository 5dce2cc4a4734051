#pragma once
// The one URL form the Alertmanager sender takes, checked once at the edge (the rules parser) so a
// rules file can never put a header, a second request line or a log line break into what is sent.
#include <string>
#include <string_view>
#include <variant>

namespace agner::alarms {

/// `http://HOST[:PORT][/PATH]` taken apart. HOST is a name, an IPv4 address or an IPv6 address
/// (without its brackets in `host`, with them in `host_header`).
struct alertmanager_url {
  std::string host;         ///< what the resolver is given: `am.example`, `127.0.0.1`, `::1`
  std::string port;         ///< decimal 1..65535; "80" when the URL has none
  std::string host_header;  ///< the HTTP Host header: `am.example:9093`, `[::1]:9093`
  std::string target;       ///< the request target, starting with '/'; "/api/v2/alerts" when the URL has no path
};

/// Longest URL taken, in bytes.
inline constexpr std::size_t max_alertmanager_url_bytes = 2048;

/// Parses `url` as `http://HOST[:PORT][/PATH]`: refused, with one sentence naming the culprit, are
/// another scheme (https is not supported: keep it on loopback or a private network), a control
/// character, a space or a byte that is not ASCII anywhere, credentials (`user@`), an empty host, a
/// host with other characters than letters, digits, '-', '.' and '_', an IPv6 address with an
/// unbalanced bracket or without brackets, a port that is not 1..65535, a '#' fragment, and a URL
/// longer than max_alertmanager_url_bytes. Thread-safe (pure). Cost: one pass over `url`.
std::variant<alertmanager_url, std::string> parse_alertmanager_url(std::string_view url);

/// `text` with every byte that is a control character, a space or not ASCII shown as \xNN, and
/// cut at `cap` bytes (then "..."): safe to put in one log line. Thread-safe (pure). Cost: one pass.
std::string escaped_for_log(std::string_view text, std::size_t cap = 256);

}  // namespace agner::alarms
