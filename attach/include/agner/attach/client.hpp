#pragma once
/// A blocking attach client (etop, tests, scripts): connects, says hello, authenticates over TCP,
/// then sends requests and reads their replies (docs/protocol.md). Not thread-safe: one per thread.
/// Part of agner::attach: links agner::snapshot, Boost.Asio and OpenSSL, never the runtime.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agner/snapshot/snapshot.hpp"

namespace agner::introspect {

/// A failed connect, handshake or request. what() is the node's error sentence when it sent one;
/// code() is the node's error code (docs/protocol.md, "Errors": noproc, forbidden, bad_request,
/// unknown_op, not_found, unavailable, busy, unauthenticated, version, timeout, too_large) or one of
/// the client's own: "connection" (cannot connect, or the connection was lost), "bad_reply" (the
/// node's reply could not be decoded: malformed JSON, too deep, or a field missing or of the wrong
/// type), "bad_key" (the cookie file cannot be used), "not_the_node" (the node's proof was wrong),
/// "bad_argument" (the request itself cannot be sent: a string in it is not valid UTF-8).
class client_error : public std::runtime_error {
 public:
  client_error(std::string code, const std::string& message, std::string exit_reason = {})
      : std::runtime_error(message), code_(std::move(code)), exit_reason_(std::move(exit_reason)) {}
  const std::string& code() const noexcept { return code_; }
  /// For noproc about a process that ended lately: why it ended (the reply's "exit_reason"); else empty.
  const std::string& exit_reason() const noexcept { return exit_reason_; }

 private:
  std::string code_;
  std::string exit_reason_;
};

/// How long a request waits for its reply before the connection counts as lost ("connection"),
/// unless the attach said otherwise (`reply_within`): longer than any node-side deadline
/// (process_info's deadline_ms is at most 5 s), so only a node that stopped, or a socket nobody
/// accepts on, reaches it.
inline constexpr std::chrono::seconds reply_deadline{20};

/// Attempts attach_tcp makes in all when the node evicts its connection during the handshake.
inline constexpr int tcp_attach_attempts = 4;

class client {
 public:
  /// Attaches over a Unix socket (a path, or a node name looked up in default_socket_dir()).
  /// `role`: "admin" or "viewer" (a Unix peer of the node's own uid may take either).
  /// `reply_within` (> 0) bounds the connect and each reply, this attach's and every later call's:
  /// past it, client_error "connection", "the node did not answer within N s". Blocks at most
  /// that long per step (connect, hello).
  static client attach_unix(const std::string& path_or_name, const std::string& role = "admin",
                            std::chrono::milliseconds reply_within = reply_deadline);
  /// Attaches over TCP, proving the key in `cookie_file` (mutual HMAC: the node proves it too).
  /// `reply_within` as for attach_unix (per step: resolve excepted, connect, hello, auth). When the
  /// node closes the connection during the handshake to let a newer one in (code `busy`, "too many
  /// connections in their handshake": strangers flood it), attaches again, up to
  /// tcp_attach_attempts attempts in all, 10 ms, 20 ms, ... apart; then throws that error.
  static client attach_tcp(const std::string& host, std::uint16_t port, const std::string& cookie_file,
                           const std::string& role = "admin", std::chrono::milliseconds reply_within = reply_deadline);
  client(client&&) noexcept;
  client& operator=(client&&) noexcept;
  ~client();

  const std::string& node() const noexcept;
  const std::string& role() const noexcept;

  /// Sends `request` (an "id" is added) and returns the reply's body. Throws client_error with the
  /// node's code and sentence when the reply says ok: false, and with a client code when the
  /// connection is lost or the reply cannot be decoded. Blocks until the reply arrives, at most
  /// the attach's reply_within (default reply_deadline): then code "connection", "the node did not
  /// answer within 20 s".
  nlohmann::json call(nlohmann::json request);

  /// The next event frame (`{"event": "trace", ...}`, docs/protocol.md "Message tracing"): one kept
  /// while call() waited for a reply, else the next the node sends within `wait` (nullopt when none
  /// came). Frames that are neither events nor replies are skipped. Keeps at most 100,000 events
  /// between calls (the oldest go first). Throws client_error as call() does when the connection
  /// is lost. Blocks up to `wait`, plus the rest of a frame the node is writing.
  std::optional<nlohmann::json> next_event(std::chrono::milliseconds wait);

  /// The typed requests below throw client_error, code "bad_reply", when a reply lacks a field.
  node_info system_info();
  /// sort: msgq, reductions, reductions_window, received, memory, gc, age.
  std::vector<process_row> top(const std::string& sort, std::size_t n, const std::string& filter = "");
  /// By pid ("<0.5.1>") or registered name.
  process_details process_info(const std::string& pid_or_name, std::size_t messages = 10,
                               std::chrono::milliseconds deadline = std::chrono::milliseconds(500));

  struct impl;

 private:
  explicit client(std::unique_ptr<impl> i);
  std::unique_ptr<impl> impl_;
};

}  // namespace agner::introspect
