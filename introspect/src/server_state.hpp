#pragma once
// What the attach server's sessions share. Everything here is used on the server's one thread,
// except the atomics and the gate.
#include <array>
#include <atomic>
#include <chrono>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <boost/asio.hpp>

#include "agner/introspect/server.hpp"
#include "log_text.hpp"
#include "socket_path.hpp"

namespace agner::introspect {

namespace asio = boost::asio;

/// Lets scheduler threads post into the server's io_context only while it exists.
struct post_gate {
  std::mutex mutex;
  asio::io_context* io = nullptr;
  template <class F>
  void post(F&& f) {
    std::lock_guard lock(mutex);
    if (io) asio::post(*io, std::forward<F>(f));
  }
};

class session;
class warning_watch;  // warning_watch.hpp

struct server::impl {
  impl(runtime& r, server_options o);
  ~impl();

  runtime& rt;
  server_options options;
  // What sessions touch when they are destroyed, declared before `io`: the io_context's destructor
  // destroys the handlers that still own sessions, so these must outlive it.
  std::atomic<std::size_t> session_count{0};
  std::list<session*> sessions;  ///< every session alive, in the order they connected
  std::size_t windowed = 0;
  std::size_t lingering = 0;  ///< sessions reading a closing client to its end (session::linger)
  std::array<char, 4096> dropped{};  ///< where they read it (this server's one thread), to drop it
  std::size_t traces = 0;  ///< message traces of all sessions (limit: limits.max_traces)
  std::atomic<std::uint64_t> failures{0};
  log_limiter connection_log{options.limits.logged_connection_errors, std::chrono::seconds(10)};
  asio::io_context io;
  std::shared_ptr<post_gate> gate = std::make_shared<post_gate>();
  std::optional<asio::local::stream_protocol::acceptor> unix_acceptor;
  std::optional<asio::ip::tcp::acceptor> tcp_acceptor;
  std::string unix_path;
  std::uint16_t port = 0;
  std::string admin_key, viewer_key;
  detail::socket_place socket_place;
  asio::steady_timer connection_log_flush{io};
  /// After a failed accept (out of descriptors or memory: EMFILE, ENOBUFS), each acceptor pauses
  /// 50 ms before the next, rather than spin the attach thread until a descriptor frees up.
  asio::steady_timer unix_accept_pause{io}, tcp_accept_pause{io};
  bool connection_log_flush_armed = false;
  std::unique_ptr<warning_watch> warnings;  ///< made by the first `warnings` request; after `io`, which its timer uses
  std::thread thread;

  void accept_unix();
  void accept_tcp();
  /// Makes room for one more connection still in its handshake on this transport, closing the
  /// oldest such connection (one without unread input first: its proof may be there) when the
  /// limit is reached. Failed provers do not count. O(connections).
  void make_room_before_handshake(bool tcp);
  /// Past limits.max_failed_proofs connections waiting for their delayed `authentication failed`,
  /// answers the oldest now and closes it. O(connections).
  void bound_failed_proofs();
  /// Whether `newcomer` may become an authenticated session: yes below the limit; at it, a
  /// `privileged` newcomer (admin, or a Unix peer) closes the idlest other session and gets in.
  bool make_room_for_session(const session* newcomer, bool privileged);
  /// An audit line: every admin action, every denial. Peer-supplied text must be log_escape()d.
  void audit(const std::string& line) { rt.log(fmt::format("attach: {}", line)); }
  /// A connection error line (refused peer, failed handshake): rate-limited, the rest counted.
  void connection_error(const std::string& line);
};

}  // namespace agner::introspect
