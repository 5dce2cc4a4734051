#pragma once
/// The processes of one TCP connection: `client_process` owns a connection from the start, reads its
/// first line (10 s, 64 KiB) and either streams a match's blocks to it or hands it to a
/// `watcher_process`; a `user_process` (under user_sup_<i>) subscribes the client to its match.
/// All three are unnamed and say who they are in describe().
#include <cstdint>
#include <deque>
#include <string>

#include "agner/runtime/behaviour.hpp"
#include "agner/runtime/ports.hpp"
#include "agner/runtime/runtime.hpp"
#include "messages.hpp"
#include "service.hpp"

namespace matchstream {

/// Longest first line or watcher line, in bytes (without its "\n", and without a "\r" before it).
inline constexpr std::size_t max_line = 64 * 1024;

/// Whether `buffer` holds a line past max_line: the one ending at `nl` (std::string::npos: a line
/// not ended yet, whose "\r" may still be the one before its "\n"). O(1).
inline bool line_too_long(const std::string& buffer, std::size_t nl) {
  const std::size_t end = nl == std::string::npos ? buffer.size() : nl;
  const bool cr = end > 0 && buffer[end - 1] == '\r';
  return end - (cr ? 1 : 0) > max_line;
}
/// How long a new connection has to send its first line.
inline constexpr std::chrono::seconds first_line_timeout{10};

/// One client connection. Thread contract: a behaviour. Cost per block: one tcp_send of the shared
/// payload (no copy), one clock read, three metric updates.
class client_process final : public agner::behaviour {
 public:
  /// `socket` is given to it by the listener (port_given starts it).
  client_process(service* s, agner::port_id socket, std::string peer);
  ~client_process() override;
  void handle(agner::context& ctx, agner::message& m) override;
  /// "client alice on elp-tig-2011-09-10 from 127.0.0.1:5123, streaming, 12 blocks".
  std::string describe() const;

 private:
  enum class state { first_line, subscribing, streaming, draining };
  void on_data(agner::context& ctx, std::string& bytes);
  void on_first_line(agner::context& ctx, std::string line);
  void connect(agner::context& ctx, const std::string& user, const std::string& match);
  void on_block(agner::context& ctx, block& b);
  void refuse(agner::context& ctx, const std::string& why, agner::exporter::counter& reason);
  void finish(agner::context& ctx, agner::exporter::counter& reason);

  service* s_;
  agner::port_id socket_;
  std::string peer_;
  state state_ = state::first_line;
  std::string buffer_;
  std::size_t unterminated_ = 0;  // after the first line: bytes read since the client's last "\n"
  std::string user_, match_;
  agner::pid match_pid_;
  agner::timer_ref deadline_;
  std::uint64_t blocks_ = 0;
  bool counted_ = false;  // in matchstream_clients_connected
};

/// One connected user: subscribes its client to the match when the "subscribe" valve admits it, and
/// ends (normally) when the client does. Thread contract: a behaviour.
class user_process final : public agner::behaviour {
 public:
  user_process(service* s, agner::pid client, std::string user, std::string match);
  ~user_process() override;
  void init(agner::context& ctx);
  void handle(agner::context& ctx, agner::message& m) override;
  /// "user alice watching elp-tig-2011-09-10 through client <0.12.0>".
  std::string describe() const;

 private:
  service* s_;
  agner::pid client_;
  std::string user_, match_;
};

/// One watcher connection (`VERSION:1:WATCH:<id>`): a JSON event a line, each registered with the
/// match (created by `start` under match_sup) and answered `OK <seq>` or `ERROR: <sentence>`, in
/// order, one at a time (with a store, `OK` once the event is committed). While service::draining it
/// takes no new line. Thread contract: a behaviour.
class watcher_process final : public agner::behaviour {
 public:
  /// `rest`: what followed the first line in the bytes read so far.
  watcher_process(service* s, agner::port_id socket, std::string peer, std::string match, std::string rest);
  ~watcher_process() override;
  void handle(agner::context& ctx, agner::message& m) override;
  /// "watcher of elp-tig-2011-09-10 from 127.0.0.1:5124, 40 events, 1 error".
  std::string describe() const;

 private:
  void next(agner::context& ctx);
  void send_event(agner::context& ctx, agner::pid match, nlohmann::json event);
  void answer(agner::context& ctx, const std::string& line);

  service* s_;
  agner::port_id socket_;
  std::string peer_, match_;
  std::string buffer_;
  bool busy_ = false;   // an event is with the match
  bool closed_ = false;
  std::uint64_t events_ = 0, errors_ = 0;
};

}  // namespace matchstream
