// The attach server: sockets, accepting within limits, the peer check, and its thread.
#include "agner/introspect/server.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include <fmt/format.h>

#include "auth.hpp"
#include "session.hpp"

namespace agner::introspect {
namespace {

using clock = std::chrono::steady_clock;

/// Makes `dir` (and its parents) with mode 0700, or checks that an existing one is ours and 0700.
void private_dir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  ::chmod(dir.c_str(), 0700);  // a fresh directory would otherwise follow the umask
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw std::runtime_error(fmt::format("socket directory {}: cannot create it", dir));
  if (st.st_uid != ::geteuid())
    throw std::runtime_error(fmt::format("socket directory {} belongs to uid {}, not to this user", dir, st.st_uid));
  if (st.st_mode & 077)
    throw std::runtime_error(fmt::format("socket directory {} is open to others (mode {:04o}); fix with: chmod 700 {}",
                                         dir, st.st_mode & 07777, dir));
}

bool answers(const std::string& path) {
  asio::io_context io;
  asio::local::stream_protocol::socket s(io);
  boost::system::error_code ec;
  s.connect(asio::local::stream_protocol::endpoint(path), ec);
  return !ec;
}

}  // namespace

std::string default_socket_dir() {
  if (const char* xdg = std::getenv("XDG_RUNTIME_DIR"); xdg && *xdg) return fmt::format("{}/agner", xdg);
  return fmt::format("/tmp/agner-{}", ::geteuid());
}

std::vector<std::string> local_nodes(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.path().extension() != ".sock") continue;
    if (answers(e.path().string())) names.push_back(e.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

server::server(runtime& rt, server_options options) : impl_(std::make_unique<impl>(rt, std::move(options))) {
  auto& s = *impl_;
  auto& o = s.options;
  if (o.node_name.empty() || o.node_name.size() > 64 ||
      o.node_name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") != std::string::npos)
    throw std::runtime_error(fmt::format("node name '{}' must be 1-64 letters, digits, '_', '-' or '.'", o.node_name));
  if (o.unix_path != "off") {
    if (o.unix_path.empty()) {
      private_dir(default_socket_dir());
      s.unix_path = fmt::format("{}/{}.sock", default_socket_dir(), o.node_name);
    } else {
      s.unix_path = o.unix_path;
      private_dir(std::filesystem::path(s.unix_path).parent_path().string());
    }
    if (std::filesystem::exists(s.unix_path)) {
      if (answers(s.unix_path))
        throw std::runtime_error(fmt::format("another node is serving {}; pick another --name", s.unix_path));
      std::filesystem::remove(s.unix_path);  // left by a node that did not stop cleanly
    }
    s.unix_acceptor.emplace(s.io, asio::local::stream_protocol::endpoint(s.unix_path));
    ::chmod(s.unix_path.c_str(), 0600);
    s.accept_unix();
  }
  if (!o.tcp_listen.empty()) {
    if (o.cookie_file.empty()) throw std::runtime_error("TCP attach needs a cookie file (--cookie-file)");
    s.admin_key = detail::load_cookie(o.cookie_file, true);
    if (!o.viewer_cookie_file.empty()) s.viewer_key = detail::load_cookie(o.viewer_cookie_file, true);
    if (!s.viewer_key.empty() && detail::same_secret(s.viewer_key, s.admin_key))
      throw std::runtime_error("the viewer cookie must differ from the admin cookie");
    const auto colon = o.tcp_listen.rfind(':');
    if (colon == std::string::npos) throw std::runtime_error(fmt::format("--listen-tcp {}: expected ADDR:PORT", o.tcp_listen));
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(o.tcp_listen.substr(0, colon), ec);
    if (ec) throw std::runtime_error(fmt::format("--listen-tcp {}: bad address", o.tcp_listen));
    if (!addr.is_loopback() && !o.allow_remote_tcp)
      throw std::runtime_error(fmt::format("--listen-tcp {}: only loopback addresses unless remote TCP is allowed "
                                           "(HMAC authenticates but does not encrypt)", o.tcp_listen));
    const int port = std::atoi(o.tcp_listen.c_str() + colon + 1);
    if (port < 0 || port > 65535) throw std::runtime_error(fmt::format("--listen-tcp {}: bad port", o.tcp_listen));
    asio::ip::tcp::endpoint ep(addr, static_cast<std::uint16_t>(port));
    s.tcp_acceptor.emplace(s.io);
    s.tcp_acceptor->open(ep.protocol());
    s.tcp_acceptor->set_option(asio::socket_base::reuse_address(true));
    s.tcp_acceptor->bind(ep, ec);
    if (ec) throw std::runtime_error(fmt::format("--listen-tcp {}: {}", o.tcp_listen, ec.message()));
    s.tcp_acceptor->listen();
    s.port = s.tcp_acceptor->local_endpoint().port();
    s.accept_tcp();
  }
  s.gate->io = &s.io;
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
        audit(fmt::format("refused a Unix peer with uid {} (only uid {} may attach)", cred.uid, ::geteuid()));
      } else if (session_count >= options.limits.max_sessions || unauthenticated >= options.limits.max_unauthenticated) {
        audit(fmt::format("refused uid {}: too many sessions", cred.uid));
      } else {
        std::make_shared<session>(*this, session::socket(std::move(sock)), false,
                                  fmt::format("uid {} pid {} (unix)", cred.uid, cred.pid))
            ->start();
      }
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
      if (session_count >= options.limits.max_sessions || unauthenticated >= options.limits.max_unauthenticated) {
        audit(fmt::format("refused {}: too many sessions", remote.address().to_string()));
      } else {
        // The source is the address alone: a client cannot dodge the failure limit with a new port.
        std::make_shared<session>(*this, session::socket(std::move(sock)), true,
                                  fmt::format("{} (tcp)", remote.address().to_string()))
            ->start();
      }
    }
    accept_tcp();
  });
}

long server::impl::locked_out(const std::string& source) {
  auto it = failures_by_source.find(source);
  if (it == failures_by_source.end()) return 0;
  auto& times = it->second;
  const auto now = clock::now();
  while (!times.empty() && now - times.front() >= std::chrono::minutes(1)) times.pop_front();
  if (times.size() < options.limits.auth_failures_per_minute) return 0;
  return std::chrono::duration_cast<std::chrono::seconds>(times.front() + std::chrono::minutes(1) - now).count() + 1;
}

void server::impl::note_failure(const std::string& source) {
  ++failures;
  if (failures_by_source.size() >= 1024 && !failures_by_source.count(source))
    failures_by_source.erase(failures_by_source.begin());  // bounded: forget someone
  auto& times = failures_by_source[source];
  times.push_back(clock::now());
  if (times.size() > options.limits.auth_failures_per_minute) times.pop_front();
}

}  // namespace agner::introspect
