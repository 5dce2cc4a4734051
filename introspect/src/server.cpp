// The attach server: sockets, accepting within limits, the peer check, and its thread.
#include "agner/introspect/server.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include <fmt/format.h>

#include "agner/attach/auth.hpp"
#include "log_text.hpp"
#include "request_error.hpp"
#include "session.hpp"

namespace agner::introspect {
namespace {

using clock = std::chrono::steady_clock;

/// "ADDR:PORT" as an endpoint, or a sentence naming what is wrong with it.
asio::ip::tcp::endpoint tcp_endpoint(const std::string& listen, bool allow_remote) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error(fmt::format("--listen-tcp {}: expected ADDR:PORT", listen));
  boost::system::error_code ec;
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  auto addr = asio::ip::make_address(host, ec);
  if (ec) throw std::runtime_error(fmt::format("--listen-tcp {}: '{}' is not an IP address", listen, host));
  if (!addr.is_loopback() && !allow_remote)
    throw std::runtime_error(fmt::format("--listen-tcp {}: only loopback addresses unless remote TCP is allowed "
                                         "(HMAC authenticates but does not encrypt)", listen));
  const std::string port_text = listen.substr(colon + 1);
  unsigned port = 0;
  auto [end, err] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || err != std::errc() || end != port_text.data() + port_text.size() || port > 65535)
    throw std::runtime_error(fmt::format("--listen-tcp {}: the port must be a number from 0 to 65535", listen));
  return {addr, static_cast<std::uint16_t>(port)};
}

/// Tells a connection refused at accept why, if its socket buffer takes the line now, and closes it.
template <class Socket>
void refuse_at_accept(Socket& sock, const char* code, const std::string& why) {
  const std::string line = nlohmann::json({{"id", nullptr}, {"ok", false}, {"code", code}, {"error", why}}).dump() + "\n";
  boost::system::error_code ignored;
  sock.non_blocking(true, ignored);
  sock.write_some(asio::buffer(line), ignored);  // never waits: a full buffer just loses the line
  sock.shutdown(Socket::shutdown_both, ignored);
  sock.close(ignored);
}

}  // namespace

std::string node_name_problem(std::string_view name) {
  const bool good = !name.empty() && name.size() <= 64 && name.front() != '.' && name.front() != '-' &&
                    name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") ==
                        std::string_view::npos;
  if (good) return "";
  return fmt::format("\"{}\" is not a node name: use 1 to 64 letters, digits, '_', '-' or '.', not starting with '.' or '-'",
                     log_escape(name, 64));
}

server::server(runtime& rt, server_options options) : impl_(std::make_unique<impl>(rt, std::move(options))) {
  auto& s = *impl_;
  auto& o = s.options;
  if (auto problem = node_name_problem(o.node_name); !problem.empty()) throw std::runtime_error(problem);
  try {
    if (!o.tcp_listen.empty()) {  // first: it touches nothing on disk but a cookie it may create
      if (o.cookie_file.empty()) throw std::runtime_error("TCP attach needs a cookie file (--cookie-file)");
      const auto ep = tcp_endpoint(o.tcp_listen, o.allow_remote_tcp);
      s.admin_key = detail::load_cookie(o.cookie_file, true);
      if (!o.viewer_cookie_file.empty()) s.viewer_key = detail::load_cookie(o.viewer_cookie_file, true);
      if (!s.viewer_key.empty() && detail::same_secret(s.viewer_key, s.admin_key))
        throw std::runtime_error("the viewer cookie must differ from the admin cookie");
      boost::system::error_code ec;
      s.tcp_acceptor.emplace(s.io);
      s.tcp_acceptor->open(ep.protocol());
      s.tcp_acceptor->set_option(asio::socket_base::reuse_address(true));
      s.tcp_acceptor->bind(ep, ec);
      if (!ec) s.tcp_acceptor->listen(asio::socket_base::max_listen_connections, ec);
      if (ec) throw std::runtime_error(fmt::format("--listen-tcp {}: {}", o.tcp_listen, ec.message()));
      s.port = s.tcp_acceptor->local_endpoint().port();
    }
    if (o.unix_path != "off") {
      s.unix_path = o.unix_path.empty() ? fmt::format("{}/{}.sock", default_socket_dir(), o.node_name) : o.unix_path;
      s.socket_place = detail::prepare_socket_path(s.unix_path);
      boost::system::error_code ec;  // the directory is private, so the socket's mode before chmod is moot
      s.unix_acceptor.emplace(s.io);
      s.unix_acceptor->open(asio::local::stream_protocol(), ec);
      if (!ec) s.unix_acceptor->bind(asio::local::stream_protocol::endpoint(s.unix_path), ec);
      if (!ec) s.unix_acceptor->listen(asio::socket_base::max_listen_connections, ec);
      if (ec) throw std::runtime_error(fmt::format("cannot serve on {}: {}", s.unix_path, ec.message()));
      ::chmod(s.unix_path.c_str(), 0600);
    }
  } catch (...) {
    s.tcp_acceptor.reset();
    s.unix_acceptor.reset();
    detail::undo_socket_place(s.socket_place);
    throw;
  }
  if (o.accept_at_once) start_accepting();
}

void server::start_accepting() {
  auto& s = *impl_;
  if (s.thread.joinable()) return;
  if (s.unix_acceptor) s.accept_unix();
  if (s.tcp_acceptor) s.accept_tcp();
  {
    std::lock_guard lock(s.gate->mutex);
    s.gate->io = &s.io;
  }
  s.thread = std::thread([&s] { s.io.run(); });
}

server::~server() {
  auto& s = *impl_;
  {
    std::lock_guard lock(s.gate->mutex);
    s.gate->io = nullptr;
  }
  s.io.stop();
  if (s.thread.joinable()) s.thread.join();
  s.connection_log.flush([&s](const std::string& line) { s.audit(line); });
  if (!s.unix_path.empty()) {
    std::error_code ec;
    std::filesystem::remove(s.unix_path, ec);
  }
}

const std::string& server::unix_path() const noexcept { return impl_->unix_path; }
std::uint16_t server::tcp_port() const noexcept { return impl_->port; }
std::size_t server::sessions() const noexcept { return impl_->session_count.load(); }
std::uint64_t server::auth_failures() const noexcept { return impl_->failures.load(); }

void server::impl::accept_unix() {
  unix_acceptor->async_accept([this](const boost::system::error_code& ec, asio::local::stream_protocol::socket sock) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) {
      ucred cred{};
      socklen_t len = sizeof cred;
      if (::getsockopt(sock.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.uid != ::geteuid()) {
        connection_error(fmt::format("refused a Unix peer with uid {} (only uid {} may attach)", cred.uid, ::geteuid()));
        refuse_at_accept(sock, codes::forbidden, fmt::format("only uid {} may attach to this node", ::geteuid()));
      } else {
        make_room_before_handshake(false);
        std::make_shared<session>(*this, session::socket(std::move(sock)), false,
                                  fmt::format("uid {} pid {} (unix)", cred.uid, cred.pid))
            ->start();
      }
    } else {
      connection_error(fmt::format("accept on the Unix socket failed: {}", ec.message()));
      unix_accept_pause.expires_after(std::chrono::milliseconds(50));
      unix_accept_pause.async_wait([this](const boost::system::error_code& e) {
        if (!e) accept_unix();
      });
      return;
    }
    accept_unix();
  });
}

void server::impl::accept_tcp() {
  tcp_acceptor->async_accept([this](const boost::system::error_code& ec, asio::ip::tcp::socket sock) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) {
      boost::system::error_code ignored;
      auto remote = sock.remote_endpoint(ignored);
      make_room_before_handshake(true);
      std::make_shared<session>(*this, session::socket(std::move(sock)), true,
                                fmt::format("{}:{} (tcp)", remote.address().to_string(), remote.port()))
          ->start();
    } else {
      connection_error(fmt::format("accept on TCP failed: {}", ec.message()));
      tcp_accept_pause.expires_after(std::chrono::milliseconds(50));
      tcp_accept_pause.async_wait([this](const boost::system::error_code& e) {
        if (!e) accept_tcp();
      });
      return;
    }
    accept_tcp();
  });
}

void server::impl::make_room_before_handshake(bool tcp) {
  // Oldest first: a key holder proves its key about one round trip after it connects, so it is
  // evicted only if more than `limit` connections arrive within that round trip. Ranking by what a
  // connection said would not help: a stranger can say anything a key holder says before the proof
  // (and a key holder whose hello is not read yet looks silent).
  const std::size_t limit = tcp ? options.limits.max_unauthenticated_tcp : options.limits.max_unauthenticated_unix;
  const auto waiting_here = [tcp](const session* s) {
    return !s->closing() && !s->authenticated() && s->tcp() == tcp && !s->proof_failed();
  };
  std::size_t waiting = 0;
  session* oldest = nullptr;
  for (session* s : sessions)  // (in connection order)
    if (waiting_here(s) && !waiting++) oldest = s;
  if (waiting < limit || !oldest) return;
  session* victim = oldest;  // the oldest with nothing unread, if any: a proof that arrived is read first
  for (session* s : sessions)
    if (waiting_here(s) && !s->unread_input()) {
      victim = s;
      break;
    }
  connection_error(fmt::format("closed {}: the oldest of {} connections in their handshake", victim->peer(), waiting));
  victim->evict(fmt::format("too many connections in their handshake ({}); retry", limit));
}

void server::impl::bound_failed_proofs() {
  std::size_t failed = 0;
  session* oldest = nullptr;
  for (session* s : sessions) {
    if (s->closing() || !s->proof_failed()) continue;
    ++failed;
    if (!oldest) oldest = s;
  }
  if (failed > options.limits.max_failed_proofs && oldest) oldest->answer_failed_proof_now();
}

bool server::impl::make_room_for_session(const session* newcomer, bool privileged) {
  std::size_t open = 0;
  session* idlest = nullptr;
  for (session* s : sessions) {
    if (s == newcomer || s->closing() || !s->authenticated()) continue;
    ++open;
    if (!idlest || s->last_request() < idlest->last_request()) idlest = s;
  }
  if (open < options.limits.max_sessions) return true;
  if (!privileged || !idlest) return false;
  audit(fmt::format("closed the idlest session, {}, to let {} in ({} sessions open)", idlest->peer(), newcomer->peer(),
                    open));
  idlest->evict(fmt::format("closed as the idlest of {} sessions to let another operator in", open));
  return true;
}

void server::impl::connection_error(const std::string& line) {
  const auto sink = [this](const std::string& l) { audit(l); };
  if (connection_log.write(sink, line) || connection_log_flush_armed) return;
  connection_log_flush_armed = true;  // say how many were suppressed once the window is over
  connection_log_flush.expires_after(std::chrono::seconds(10));
  connection_log_flush.async_wait([this, sink](const boost::system::error_code& ec) {
    connection_log_flush_armed = false;
    if (!ec) connection_log.flush(sink);
  });
}

}  // namespace agner::introspect
