#pragma once
/// The attach server: serves the introspection API over newline-delimited JSON (docs/protocol.md)
/// on a Unix domain socket (default) and, optionally, on TCP with HMAC authentication. It runs on a
/// thread of its own, never on a scheduler; queries it runs stop no scheduler.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agner/snapshot/snapshot.hpp"
#include "agner/snapshot/warning_rows.hpp"
#include "agner/attach/discovery.hpp"  // default_socket_dir, local_nodes (the server puts its socket there)
#include "agner/runtime/runtime.hpp"

namespace agner::introspect {

/// Every bound an outsider can push against (docs/protocol.md, "Limits"). Counts are connections
/// or rows, sizes bytes, durations as typed.
struct server_limits {
  /// Authenticated sessions. Past it, an admin or a Unix peer of the node's uid closes the idlest
  /// session to get in (so the owner can always attach); a TCP viewer is refused (`busy`).
  std::size_t max_sessions = 16;
  /// TCP connections still in their handshake (accepted, not yet proven; a connection whose proof
  /// failed is counted apart, below). Past it the oldest of them is closed (`busy`) to let the
  /// newcomer in: a newcomer is never refused, and a key holder, who proves its key about one
  /// round trip after connecting, is evicted only if strangers open more than this many
  /// connections within that round trip. Each costs one fd and at most ~5 KiB (the session, its
  /// nonces and a line of at most preauth_frame_bytes) until the handshake deadline: 512 is ~2.5 MiB
  /// and 512 fds, well under a 1,024-fd soft limit together with max_failed_proofs and max_sessions.
  std::size_t max_unauthenticated_tcp = 512;
  /// Connections whose proof was wrong and that wait for their delayed answer (auth_failure_delay).
  /// Past it the oldest is answered (`authentication failed`) and closed at once. They never take
  /// a handshake slot, so wrong provers cannot evict a key holder. Each costs one fd.
  std::size_t max_failed_proofs = 256;
  /// The same as max_unauthenticated_tcp for the Unix socket (only the node's uid gets that far),
  /// counted apart: TCP strangers never make the owner wait.
  std::size_t max_unauthenticated_unix = 64;
  std::size_t preauth_frame_bytes = 4096;   ///< longest line before authentication
  std::size_t frame_bytes = 65536;          ///< longest line after
  std::size_t output_bytes = 4 << 20;       ///< replies queued for a session that does not read
  /// From accept to the end of the handshake (hello, and auth over TCP).
  std::chrono::milliseconds handshake_timeout{3000};
  std::chrono::milliseconds idle_timeout{60000};
  /// A wrong proof is answered after this delay, then the connection is closed: it slows that
  /// connection only; nobody is ever locked out and a right proof is never refused.
  std::chrono::milliseconds auth_failure_delay{1000};
  /// Connection errors (refusals, failed handshakes) logged per 10 s; the rest are counted.
  std::size_t logged_connection_errors = 20;
  std::size_t max_top_rows = 1000;
  std::size_t max_windowed_sessions = 4;    ///< sessions keeping a reductions window (8 B per slot)
  std::chrono::milliseconds max_deadline{5000};  ///< longest process_info deadline a client may ask
  std::size_t max_traces = 4;               ///< message traces at once, all sessions (trace_start)
};

/// What the node lets operators see and do with its alarms (the node's alarm service implements
/// it). Called on the server's thread.
class alarm_control {
 public:
  virtual ~alarm_control() = default;
  virtual std::vector<alarm_row> active() = 0;
  virtual std::vector<alarm_event> history(std::size_t last) = 0;
  virtual std::vector<valve_row> valves() = 0;
  virtual bool acknowledge(const std::string& id) = 0;
  /// Throws std::invalid_argument naming a bad severity.
  virtual void set(const std::string& id, const std::string& severity, const std::string& description) = 0;
  virtual bool clear(const std::string& id) = 0;
  /// mode: automatic, open or closed; for `for_ms`. False for an unknown valve.
  virtual bool override_valve(const std::string& id, const std::string& mode, std::int64_t for_ms) = 0;
  /// The errors, empty when the new rules are in force.
  virtual std::vector<std::string> reload() = 0;
  /// The warning thresholds of the rules in force ("warnings" in the rules file; the defaults
  /// without one). Called on the server's thread each warnings sample; must not block long.
  virtual warning_thresholds warning_config() { return {}; }
};

struct server_options {
  std::string node_name = "agner";
  /// The Unix socket's path; empty for the default (default_socket_dir()/NAME.sock), "off" for none.
  std::string unix_path;
  /// "ADDR:PORT" to listen on TCP (port 0 picks one); empty for none. Only loopback addresses
  /// unless `allow_remote_tcp`.
  std::string tcp_listen;
  bool allow_remote_tcp = false;
  /// The admin key for TCP; created (0600) on first start. Required when tcp_listen is set.
  std::string cookie_file;
  /// An optional viewer key for TCP: who proves it gets the viewer role.
  std::string viewer_cookie_file;
  /// true: serve from construction. false: the constructor makes every check and binds and listens
  /// (so a refusal comes before anything else starts), but clients wait in the listen backlog until
  /// server::start_accepting() — for a host that starts its workload between the two.
  bool accept_at_once = true;
  server_limits limits;
  /// The node's alarms, for system_info and the alarm requests; none when null.
  alarm_control* alarms = nullptr;
};

class server {
 public:
  /// Opens the sockets and starts serving. Throws std::runtime_error with a sentence naming the
  /// problem (a cookie file readable by others, a socket directory that is not private to this user
  /// or does not exist, a socket another node is serving, a bad address or port); a failed start
  /// leaves nothing behind (no socket file, no directory it made).
  server(runtime& rt, server_options options);
  /// Closes every session and the sockets (the Unix socket file is removed).
  ~server();
  /// Starts serving a server made with accept_at_once = false (its thread starts here); nothing
  /// when it serves already. Call it from the thread that owns the server. Cost: one thread start.
  void start_accepting();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// The Unix socket's path ("" when off) and the TCP port (0 when off).
  const std::string& unix_path() const noexcept;
  std::uint16_t tcp_port() const noexcept;
  /// Connections open now (authenticated or not), and wrong proofs so far. Thread-safe.
  std::size_t sessions() const noexcept;
  std::uint64_t auth_failures() const noexcept;

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

/// Why `name` cannot name a node, as a sentence ("" when it can). A node name is 1 to 64 ASCII
/// letters, digits, '_', '-' or '.', not starting with '.' or '-': it becomes NAME.sock in the
/// socket directory (so no '/' or "..") and a label on every series, and etop and agner-ctl take it
/// as an argument. The sentence quotes the name with control, quote, backslash and non-ASCII bytes
/// escaped (\xNN), cut at 64 bytes: safe to print on a terminal. The one check for --name in every
/// program (add_node_flags) and for server_options::node_name. Thread-safe; one pass over `name`.
std::string node_name_problem(std::string_view name);

}  // namespace agner::introspect
