// MatchStream's HTTP API (http_api.hpp): Boost.Beast, asynchronous, one thread, the same shape as the
// node's /metrics server (exporter/src/http_server.cpp, private to the exporter): a connection cap that
// closes the idlest connection to make room, small requests, deadlines, HEAD, 405 with Allow.
// Everything but the constructor and destructor runs on the server's thread, so the session list
// needs no lock.
#include "http_api.hpp"

#include <utility>  // before Asio (Boost 1.74's awaitable.hpp needs std::exchange)

#include <chrono>
#include <list>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include "http_routes.hpp"

namespace matchstream {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

// The node's /metrics bounds (agner::exporter::http_limits), which fit this API too.
constexpr std::size_t max_connections = 256;
constexpr std::size_t max_request_bytes = 8192;
constexpr std::chrono::milliseconds header_timeout{5000};  // accept to whole first request
constexpr std::chrono::milliseconds idle_timeout{10000};   // keep-alive: answer to whole next request
constexpr std::chrono::milliseconds write_timeout{30000};  // one answer to a slow reader

class session;

// The server's state (http_api::impl is private to http_api, so sessions refer to this instead).
struct server {
  const board& live;
  database& db;
  // Declared before the io_context: sessions still queued when it is destroyed remove themselves.
  std::list<session*> sessions;
  std::size_t closing = 0;  // sessions closed whose handlers have not run yet
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  asio::steady_timer accept_pause{io};
  std::uint16_t port = 0;
  std::thread thread;

  server(const board& b, database& d) : live(b), db(d) {}
  void accept();
  void make_room();
};

using response = http::response<http::string_body>;

class session : public std::enable_shared_from_this<session> {
 public:
  session(server& s, tcp::socket sock) : server_(s), stream_(std::move(sock)) {
    where_ = server_.sessions.insert(server_.sessions.end(), this);
  }
  ~session() {
    if (closed_) --server_.closing;
    server_.sessions.erase(where_);
  }
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  void start() { read(header_timeout); }

  /// Waiting for a request (not writing an answer), and since when.
  bool reading() const { return reading_; }
  steady::time_point since() const { return since_; }
  /// Closed (by us) but not yet destroyed: its handlers still have to run.
  bool closed() const { return closed_; }
  void close() {
    if (!closed_) ++server_.closing;
    closed_ = true;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

 private:
  void read(std::chrono::milliseconds deadline) {
    reading_ = true;
    since_ = steady::now();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(max_request_bytes));
    parser_->body_limit(max_request_bytes);
    stream_.expires_after(deadline);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == beast::error::timeout || ec == http::error::end_of_stream || ec == asio::error::operation_aborted)
      return;
    if (ec) {  // malformed or too large: say so and close
      answer(json_answer(http::status::bad_request, 11, false, error_json("bad request: " + ec.message())));
      return;
    }
    handle(parser_->release());
  }

  static response json_answer(http::status status, unsigned version, bool keep_alive, std::string body) {
    response res{status, version};
    res.set(http::field::content_type, "application/json");
    res.set(http::field::cache_control, "no-store");
    res.keep_alive(keep_alive);
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
  }

  void handle(http::request<http::string_body> req) {
    auto res = respond(req);
    if (req.method() == http::verb::head) {
      const auto length = res.body().size();
      res.body().clear();
      res.content_length(length);  // the GET headers, no body
    }
    answer(std::move(res));
  }

  response respond(const http::request<http::string_body>& req) {
    const auto target = std::string_view(req.target().data(), req.target().size());
    const auto path = target.substr(0, target.find('?'));
    const bool keep = req.keep_alive();
    const auto version = req.version();
    const auto route = route_of(path);
    if (route.kind == api_route::unknown)
      return json_answer(http::status::not_found, version, keep, error_json("not found: serves /matches and /matches/<id>"));
    if (route.kind == api_route::bad_id)
      return json_answer(http::status::bad_request, version, keep, error_json("bad match id in the path: " + route.id));
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      auto res = json_answer(http::status::method_not_allowed, version, keep, error_json("method not allowed: use GET or HEAD"));
      res.set(http::field::allow, "GET, HEAD");
      return res;
    }
    std::optional<std::string> body;
    try {
      body = route.kind == api_route::list ? list_json(server_.live) : match_json(server_.live, server_.db, route.id);
    } catch (const std::exception& e) {  // the store failed (disk, corrupt file): the API stays up
      return json_answer(http::status::internal_server_error, version, false, error_json(e.what()));
    }
    if (!body) return json_answer(http::status::not_found, version, keep, error_json("unknown match " + route.id));
    return json_answer(http::status::ok, version, keep, std::move(*body));
  }

  void answer(response res) {
    reading_ = false;
    since_ = steady::now();
    res_ = std::move(res);
    stream_.expires_after(write_timeout);
    http::async_write(stream_, res_, [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_write(ec); });
  }

  void on_write(beast::error_code ec) {
    if (ec || !res_.keep_alive()) return close();
    read(idle_timeout);
  }

  server& server_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  response res_;
  std::list<session*>::iterator where_;
  bool reading_ = true;
  bool closed_ = false;
  steady::time_point since_ = steady::now();
};

void server::accept() {
  acceptor.async_accept([this](beast::error_code ec, tcp::socket sock) {
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
    if (ec) {
      // Out of descriptors or memory (EMFILE, ENOBUFS...): pause rather than spin; the deadlines and
      // the cap free descriptors meanwhile.
      accept_pause.expires_after(std::chrono::milliseconds(50));
      accept_pause.async_wait([this](beast::error_code e) {
        if (!e) accept();
      });
      return;
    }
    if (sessions.size() - closing >= max_connections) make_room();
    std::make_shared<session>(*this, std::move(sock))->start();
    accept();
  });
}

void server::make_room() {
  // The connection waiting longest for a request (idle keep-alive or a slow header); one writing an
  // answer is closed only if every connection is writing.
  session* idlest = nullptr;
  for (auto* s : sessions) {
    if (s->closed()) continue;
    if (!idlest || (s->reading() && !idlest->reading()) ||
        (s->reading() == idlest->reading() && s->since() < idlest->since()))
      idlest = s;
  }
  if (idlest) idlest->close();
}

}  // namespace

struct http_api::impl : server {
  using server::server;
};

http_api::http_api(const std::string& address, std::uint16_t port, const board& live, database& db)
    : impl_(std::make_unique<impl>(live, db)) {
  beast::error_code ec;
  const auto addr = asio::ip::make_address(address, ec);
  if (ec) throw std::runtime_error(fmt::format("HTTP API: '{}' is not an IP address", address));
  const tcp::endpoint ep{addr, port};
  auto& a = impl_->acceptor;
  const auto fail = [&](const char* step) {
    return std::runtime_error(fmt::format("HTTP API: cannot {} {}:{}: {}", step, address, port, ec.message()));
  };
  if (a.open(ep.protocol(), ec)) throw fail("open a socket for");
  if (a.set_option(asio::socket_base::reuse_address(true), ec)) throw fail("set SO_REUSEADDR on");
  if (a.bind(ep, ec)) throw fail("bind");
  if (a.listen(asio::socket_base::max_listen_connections, ec)) throw fail("listen on");
  impl_->port = a.local_endpoint(ec).port();
  impl_->accept();
  impl_->thread = std::thread([s = impl_.get()] {
    // No exception leaves this thread: a handler that throws (out of memory) loses its connection,
    // the server goes on.
    for (;;) {
      try {
        s->io.run();
        return;
      } catch (const std::exception&) {
      }
    }
  });
}

http_api::~http_api() {
  // Close the listener and every connection on the server's thread; run() returns when the last
  // handler is gone.
  asio::post(impl_->io, [s = impl_.get()] {
    beast::error_code ec;
    s->acceptor.close(ec);
    s->accept_pause.cancel();
    for (auto* c : s->sessions) c->close();
  });
  impl_->thread.join();
}

std::uint16_t http_api::port() const noexcept { return impl_->port; }

}  // namespace matchstream
