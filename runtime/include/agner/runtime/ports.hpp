#pragma once
/// Ports: TCP listeners and sockets owned by processes. Their events arrive as messages.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace agner {

/// Names a port of this runtime.
struct port_id {
  std::uint64_t id = 0;
  explicit operator bool() const { return id != 0; }
  friend bool operator==(port_id, port_id) = default;
};

/// To a listener's owner, for each accepted connection. The new socket belongs to the same process
/// until it gives it away (context::give_port). Like every new socket it is passive: it reads
/// nothing until its owner calls context::activate (so it can be handed over first).
struct tcp_accepted {
  port_id listener;
  port_id socket;
  std::string peer;  ///< "address:port"
};
/// To the process that called context::tcp_connect, once connected.
struct tcp_connected {
  port_id socket;
  std::string peer;
};
/// Bytes read from a socket. After each one the socket reads nothing more until its owner calls
/// context::activate (Erlang's {active, once}), so a fast peer cannot flood a slow process.
struct tcp_data {
  port_id socket;
  std::string bytes;
};
/// A socket closed by the peer ("closed"), by an error (its text), or because more than
/// port_send_buffer_limit bytes waited to be sent ("send buffer full"); or a connect that failed
/// (then `socket` is empty). Not sent for context::close_port.
struct tcp_closed {
  port_id socket;
  std::string reason;
  /// tcp_send calls whose bytes were not all written when it closed (for "send buffer full": the
  /// one that overflowed and those queued before it), so an owner can count what it lost.
  std::size_t unsent = 0;
};
/// Given to a process with context::give_port.
struct port_given {
  port_id port;
  std::string kind;  ///< "listener" or "socket"
};

/// Bytes queued for sending on one socket before it is closed with "send buffer full".
inline constexpr std::size_t port_send_buffer_limit = 4u << 20;

/// How long a socket closed by its owner (context::close_port) may go on writing what was queued
/// and reading the peer to its end before it is closed anyway (a file descriptor held that long).
inline constexpr std::chrono::milliseconds port_close_linger{5000};

}  // namespace agner
