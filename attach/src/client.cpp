#include "agner/attach/client.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <deque>
#include <chrono>
#include <string_view>
#include <thread>

#include <boost/asio.hpp>
#include <fmt/format.h>

#include "agner/snapshot/json.hpp"
#include "agner/attach/discovery.hpp"
#include "agner/attach/auth.hpp"

namespace agner::introspect {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

/// Runs `decode` on a reply, turning the JSON library's exceptions into client_error "bad_reply".
template <class F>
auto decoded(const char* what, F&& decode) {
  try {
    return decode();
  } catch (const json::exception&) {
    throw client_error("bad_reply", fmt::format("the node's {} reply lacks a field or has one of the wrong type", what));
  }
}

/// "20 s", "2.5 s": a deadline as the error sentence says it.
std::string seconds_text(std::chrono::milliseconds d) {
  return d.count() % 1000 == 0 ? fmt::format("{} s", d.count() / 1000) : fmt::format("{:g} s", static_cast<double>(d.count()) / 1000);
}

/// Connects `s` to `ep` within `within`: a node whose listen queue is full (it stopped accepting)
/// must not block the caller longer than a reply would. Leaves `s` blocking. timed_out past it.
template <class Socket, class Endpoint>
void connect_within(Socket& s, const Endpoint& ep, std::chrono::milliseconds within, boost::system::error_code& ec) {
  const auto until = std::chrono::steady_clock::now() + within;
  for (;;) {
    if (s.is_open()) s.close(ec);
    s.open(ep.protocol(), ec);
    if (ec) return;
    s.non_blocking(true, ec);
    if (ec) return;
    // ::connect, not asio's: asio's synchronous connect waits for a pending one without a bound.
    const int rc = ::connect(s.native_handle(), ep.data(), static_cast<socklen_t>(ep.size()));
    const int err = rc == 0 ? 0 : errno;
    if (err == EINTR) continue;
    if (err == EAGAIN && std::chrono::steady_clock::now() < until) {
      // A Unix socket's full queue refuses at once rather than pending: ask again shortly.
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    ec = err == EAGAIN ? make_error_code(asio::error::timed_out)
                       : boost::system::error_code(err, boost::system::system_category());
    if (err == EINPROGRESS) {  // TCP: pending
      for (;;) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
        pollfd p{s.native_handle(), POLLOUT, 0};
        const int ready = left.count() > 0 ? ::poll(&p, 1, static_cast<int>(left.count())) : 0;
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) {
          ec = asio::error::timed_out;
          break;
        }
        int failed = 0;
        socklen_t len = sizeof failed;
        ::getsockopt(s.native_handle(), SOL_SOCKET, SO_ERROR, &failed, &len);
        ec = failed ? boost::system::error_code(failed, boost::system::system_category()) : boost::system::error_code();
        break;
      }
    }
    if (!ec) s.non_blocking(false, ec);
    return;
  }
}

}  // namespace

struct client::impl {
  asio::io_context io;
  asio::generic::stream_protocol::socket sock{io};
  std::string in;
  std::int64_t next_id = 1;
  std::string node, role;
  std::deque<json> events;  // event frames (trace) read while waiting for a reply
  std::chrono::milliseconds reply_within = reply_deadline;

  /// The next line the node sent, parsed. Throws client_error on a lost connection or a bad frame.
  json read_frame() {
    boost::system::error_code ec;
    std::size_t n = read_reply(ec);
    if (ec == asio::error::timed_out)
      throw client_error("connection", "the node did not answer within " + seconds_text(reply_within));
    if (ec)
      throw client_error("connection", ec == asio::error::eof ? "the node closed the connection"
                                                               : fmt::format("connection lost: {}", ec.message()));
    const std::string line = in.substr(0, n - 1);
    in.erase(0, n);
    if (nested_deeper_than(line, max_json_depth))
      throw client_error("bad_reply", fmt::format("the node's reply nests deeper than {} levels", max_json_depth));
    json frame = json::parse(line, nullptr, false);
    if (frame.is_discarded() || !frame.is_object()) throw client_error("bad_reply", "the node sent malformed JSON");
    return frame;
  }
  static bool is_event(const json& frame) { return frame.contains("event") && !frame.contains("id"); }
  void keep_event(json frame) {
    if (events.size() >= max_kept_events) events.pop_front();  // a caller that never looks
    events.push_back(std::move(frame));
  }
  static constexpr std::size_t max_kept_events = 100'000;

  /// Reads up to the reply's '\n' (at most 64 MiB); timed_out when none comes within
  /// reply_within (a node stopped, or a socket nobody accepts on, must not hang the caller).
  std::size_t read_reply(boost::system::error_code& ec) {
    const auto until = std::chrono::steady_clock::now() + reply_within;
    for (;;) {
      if (const auto end = in.find('\n'); end != std::string::npos) return end + 1;
      if (in.size() >= (64u << 20)) {
        ec = asio::error::message_size;
        return 0;
      }
      // Rounded up: a wait truncated to whole ms would time out up to 1 ms before the deadline.
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
      pollfd p{sock.native_handle(), POLLIN, 0};
      const int ready = left.count() > 0 ? ::poll(&p, 1, static_cast<int>(left.count())) : 0;
      if (ready == 0) {
        ec = asio::error::timed_out;
        return 0;
      }
      if (ready < 0 && errno == EINTR) continue;
      char chunk[65536];
      const std::size_t got = sock.read_some(asio::buffer(chunk), ec);
      if (ec) return 0;
      in.append(chunk, got);
    }
  }

  json exchange(json request) {
    request["id"] = next_id++;
    std::string frame;
    try {
      frame = request.dump() + "\n";
    } catch (const json::type_error&) {  // the only way dump fails: a string that is not UTF-8
      throw client_error("bad_argument", "a value in the request is not valid UTF-8 text (an argument with a stray byte?)");
    }
    boost::system::error_code ec;
    asio::write(sock, asio::buffer(frame), ec);
    if (ec) throw client_error("connection", fmt::format("connection lost: {}", ec.message()));
    json reply = read_frame();
    while (is_event(reply)) {
      keep_event(std::move(reply));
      reply = read_frame();
    }
    const auto ok = reply.find("ok");
    if (ok != reply.end() && ok->is_boolean() && ok->get<bool>()) return reply;
    const auto text = [&](const char* key, const char* fallback) {
      auto it = reply.find(key);
      return it != reply.end() && it->is_string() ? it->get<std::string>() : std::string(fallback);
    };
    throw client_error(text("code", "error"), text("error", "request failed"), text("exit_reason", ""));
  }
};

client::client(std::unique_ptr<impl> i) : impl_(std::move(i)) {}
client::client(client&&) noexcept = default;
client& client::operator=(client&&) noexcept = default;
client::~client() = default;

client client::attach_unix(const std::string& path_or_name, const std::string& role,
                           std::chrono::milliseconds reply_within) {
  auto i = std::make_unique<impl>();
  i->reply_within = std::max(reply_within, std::chrono::milliseconds(1));
  const std::string path = path_or_name.find('/') == std::string::npos
                               ? fmt::format("{}/{}.sock", default_socket_dir(), path_or_name)
                               : path_or_name;
  asio::local::stream_protocol::socket s(i->io);
  boost::system::error_code ec;
  connect_within(s, asio::local::stream_protocol::endpoint(path), i->reply_within, ec);
  if (ec == asio::error::timed_out)
    throw client_error("connection", fmt::format("cannot attach to {}: the node did not accept within {}", path,
                                                 seconds_text(i->reply_within)));
  if (ec) throw client_error("connection", fmt::format("cannot attach to {}: {}", path, ec.message()));
  i->sock = asio::generic::stream_protocol::socket(std::move(s));
  json hello = i->exchange({{"op", "hello"}, {"versions", {1}}, {"role", role}});
  decoded("hello", [&] {
    i->node = hello.value("node", std::string());
    i->role = hello.value("role", role);
    return 0;
  });
  return client(std::move(i));
}

namespace {

/// One TCP attach: connect, hello, auth, and the node's proof checked.
std::unique_ptr<client::impl> attach_tcp_once(const std::string& host, std::uint16_t port, const std::string& key,
                                              const std::string& role, std::chrono::milliseconds reply_within) {
  auto i = std::make_unique<client::impl>();
  i->reply_within = std::max(reply_within, std::chrono::milliseconds(1));
  asio::ip::tcp::socket s(i->io);
  boost::system::error_code ec;
  asio::ip::tcp::resolver resolver(i->io);
  auto endpoints = resolver.resolve(host, std::to_string(port), ec);
  if (!ec) {
    ec = asio::error::host_not_found;
    for (const auto& e : endpoints) {
      connect_within(s, e.endpoint(), i->reply_within, ec);
      if (!ec) break;
    }
  }
  if (ec == asio::error::timed_out)
    throw client_error("connection", fmt::format("cannot attach to {}:{}: the node did not accept within {}", host, port,
                                                 seconds_text(i->reply_within)));
  if (ec) throw client_error("connection", fmt::format("cannot attach to {}:{}: {}", host, port, ec.message()));
  i->sock = asio::generic::stream_protocol::socket(std::move(s));
  const std::string nonce = detail::random_hex(32);
  json hello = i->exchange({{"op", "hello"}, {"versions", {1}}, {"nonce", nonce}});
  std::string server_nonce;
  int version = 1;
  decoded("hello", [&] {
    i->node = hello.value("node", std::string());
    server_nonce = hello.value("nonce", std::string());
    if (auto v = hello.find("version"); v != hello.end()) version = hello_version(*v);
    return 0;
  });
  json ok = i->exchange({{"op", "auth"},
                         {"role", role},
                         {"proof", detail::proof(key, "agner-client", nonce, server_nonce, i->node, version)}});
  const auto field = [&](const char* name, const std::string& fallback) {
    return decoded("auth", [&] { return ok.value(name, fallback); });
  };
  if (!detail::same_secret(field("proof", ""),
                           detail::proof(key, "agner-server", nonce, server_nonce, i->node, version)))
    throw client_error("not_the_node",
                       fmt::format("{}:{} did not prove it knows the key: not the node you meant", host, port));
  i->role = field("role", role);
  return i;
}

/// The node closed this connection, still in its handshake, to let a newer one in
/// (docs/protocol.md, "Limits"): strangers flood it; a new attempt usually gets through.
bool evicted_in_handshake(const client_error& e) {
  return e.code() == "busy" && std::string_view(e.what()).starts_with("too many connections in their handshake");
}

}  // namespace

client client::attach_tcp(const std::string& host, std::uint16_t port, const std::string& cookie_file,
                          const std::string& role, std::chrono::milliseconds reply_within) {
  std::string key;
  try {
    key = detail::load_cookie(cookie_file, false);
  } catch (const std::runtime_error& e) {
    throw client_error("bad_key", e.what());
  }
  for (int attempt = 1;; ++attempt) {
    try {
      return client(attach_tcp_once(host, port, key, role, reply_within));
    } catch (const client_error& e) {
      if (attempt >= tcp_attach_attempts || !evicted_in_handshake(e)) throw;
    }
    // A little apart, so that the retries do not meet the same burst.
    std::this_thread::sleep_for(std::chrono::milliseconds(10 * attempt));
  }
}

const std::string& client::node() const noexcept { return impl_->node; }
const std::string& client::role() const noexcept { return impl_->role; }

json client::call(json request) { return impl_->exchange(std::move(request)); }

std::optional<json> client::next_event(std::chrono::milliseconds wait) {
  auto& i = *impl_;
  const auto until = std::chrono::steady_clock::now() + wait;
  for (;;) {
    if (!i.events.empty()) {
      json e = std::move(i.events.front());
      i.events.pop_front();
      return e;
    }
    if (i.in.find('\n') == std::string::npos) {
      // Rounded up: a wait truncated to whole ms would time out up to 1 ms before the deadline.
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
      pollfd fd{i.sock.native_handle(), POLLIN, 0};
      const int ready = ::poll(&fd, 1, static_cast<int>(std::max<std::int64_t>(0, left.count())));
      if (ready == 0) return std::nullopt;
      if (ready < 0 && errno != EINTR) throw client_error("connection", "connection lost: poll failed");
      if (ready < 0) continue;
    }
    json frame = i.read_frame();  // a whole line: the node writes frames whole
    if (impl::is_event(frame)) i.keep_event(std::move(frame));
  }
}

node_info client::system_info() {
  const json reply = call({{"op", "system_info"}});
  return decoded("system_info", [&] { return node_info_from_json(reply.at("node")); });
}

std::vector<process_row> client::top(const std::string& sort, std::size_t n, const std::string& filter) {
  std::vector<process_row> rows;
  json req{{"op", "top"}, {"sort", sort}, {"n", n}};
  if (!filter.empty()) req["filter"] = filter;
  const json reply = call(std::move(req));
  return decoded("top", [&] {
    for (auto& r : reply.at("processes")) rows.push_back(process_row_from_json(r));
    return rows;
  });
}

process_details client::process_info(const std::string& pid_or_name, std::size_t messages,
                                     std::chrono::milliseconds deadline) {
  json req{{"op", "process_info"}, {"messages", messages}, {"deadline_ms", deadline.count()}};
  req[pid_or_name.starts_with('<') ? "pid" : "name"] = pid_or_name;
  const json reply = call(std::move(req));
  return decoded("process_info", [&] { return process_details_from_json(reply.at("process")); });
}

}  // namespace agner::introspect
