#pragma once
// One attached client: the handshake state machine, bounded reads and writes, and the requests.
// Everything here runs on the server's one thread.
#include <chrono>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "agner/introspect/groups.hpp"
#include "agner/introspect/queries.hpp"
#include "message_trace.hpp"
#include "request_error.hpp"
#include "server_state.hpp"

namespace agner::introspect {

enum class role { none, viewer, admin };

class session : public std::enable_shared_from_this<session> {
 public:
  using socket = asio::generic::stream_protocol::socket;
  using clock = std::chrono::steady_clock;
  /// `tcp`: authenticate with HMAC; else (a Unix peer already checked by uid) trusted after hello.
  /// Registers itself in the server's session list until destroyed.
  session(server::impl& srv, socket sock, bool tcp, std::string peer);
  ~session();
  void start();

  bool tcp() const noexcept { return tcp_; }
  bool authenticated() const noexcept { return stage_ == stage::ready; }
  bool closing() const noexcept { return stage_ == stage::closed; }
  /// Whether its proof was wrong: it only waits for its delayed answer (not a handshake slot).
  bool proof_failed() const noexcept { return proof_failed_; }
  /// Whether bytes it sent wait unread in the socket (its proof may be among them). One ioctl.
  bool unread_input() const noexcept;
  const std::string& peer() const noexcept { return peer_; }
  clock::time_point last_request() const noexcept { return last_request_; }
  /// Closes the session to make room for another, telling the client why (code `busy`).
  void evict(const std::string& why);
  /// Gives a failed prover its answer (`authentication failed`) now rather than after the delay,
  /// and closes it: too many wait for theirs.
  void answer_failed_proof_now();

 private:
  using json = nlohmann::json;
  enum class stage { hello, auth, ready, closed };

  void read();
  void on_line(std::string line);
  void dispatch(const json& req, const json& id, const std::string& op);
  void hello(const json& req, const json& id);
  void auth(const json& req, const json& id);
  void authenticated(role r);

  // requests (session_requests.cpp); each throws request_error for a refused field
  void system_info(const json& id);
  void top(const json& req, const json& id);
  void groups(const json& req, const json& id);  // session_groups.cpp
  void process_info(const json& req, const json& id);
  void admin(const json& req, const json& id, const std::string& op);
  void alarm_request(const json& req, const json& id, const std::string& op);
  void tree(const json& req, const json& id);  // session_tree.cpp
  void warnings(const json& req, const json& id);  // warning_watch.cpp
  pid target(const json& req);
  // message tracing (session_trace.cpp)
  void trace_start(const json& req, const json& id);
  void trace_stop(const json& req, const json& id);
  /// Stops trace `trace` in the runtime, sends `final_frame` (unless null) and forgets it.
  void end_trace(int trace, json final_frame);
  void tick_trace(int trace);
  /// Stops every trace of this session, sending nothing (the session is closing).
  void end_traces();

  void reply(const json& id, json body);
  void fail(const json& id, const char* code, const std::string& error);
  /// noproc for `p`, with its exit reason ("exit_reason") when the runtime still knows it.
  void fail_noproc(const json& id, pid p);
  void fail_and_close(const json& id, const char* code, const std::string& error);
  void send(const json& j);
  void write_next();
  void close();
  /// How long, and how many sessions at once, linger() reads a closing client to its end.
  static constexpr std::chrono::milliseconds linger_time{2000};
  static constexpr std::size_t max_lingering = 64;
  /// After the last answer of a closing session that has input left unread (or a frame past the
  /// limit on its way): FIN, then read and drop what the client still sends until its FIN or
  /// linger_time, so the unread input does not turn the close into an RST that loses the answer.
  /// Past max_lingering sessions lingering, or with nothing unread: close() at once.
  void linger();
  void discard();
  void arm_idle();

  server::impl& srv_;
  socket sock_;
  bool tcp_;
  std::string peer_;
  std::list<session*>::iterator registered_;
  stage stage_ = stage::hello;
  role role_ = role::none;
  role asked_ = role::admin;
  int version_ = 0;
  std::string client_nonce_, server_nonce_;
  std::string in_;
  std::deque<std::string> out_;
  std::size_t out_bytes_ = 0;
  bool writing_ = false;
  bool reading_ = false;    ///< a read of the socket is under way
  bool lingering_ = false;  ///< linger() has begun and close() has not yet ended it
  bool drain_on_close_ = false;  ///< closing for a frame past the limit: linger even if nothing is unread yet
  bool proof_failed_ = false;
  json failed_proof_id_;  ///< the id of the auth request whose answer is delayed
  clock::time_point last_request_ = clock::now();
  asio::steady_timer handshake_timer_;
  asio::steady_timer idle_timer_;
  std::unique_ptr<reductions_window> window_;
  std::unique_ptr<group_window> group_window_;  ///< counted with window_: a session holding either counts once
  std::map<int, std::unique_ptr<session_trace>> traces_;
  int next_trace_ = 1;
};

}  // namespace agner::introspect
