// The HTTP server (agner/exporter/http_server.hpp). Everything but stats() and port() runs on the
// server's one thread, so the session list needs no lock.
#include "agner/exporter/http_server.hpp"

#include <utility>  // before Asio (Boost 1.74's awaitable.hpp needs std::exchange)

#include <array>
#include <atomic>
#include <list>
#include <optional>
#include <stdexcept>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

namespace agner::exporter {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

std::string_view view(beast::string_view s) { return {s.data(), s.size()}; }

}  // namespace

http_response plain_error(int status, const std::string& reason) { return {status, "text/plain; charset=utf-8", reason + "\n", {}, false}; }

class http_session;

struct http_server::impl {
  http_limits limits;
  http_handler handler;
  http_error_answer error;
  // Declared before the io_context: sessions still queued when it is destroyed remove themselves.
  std::list<http_session*> sessions;
  std::size_t closing = 0;    // sessions closed whose handlers have not run yet
  std::size_t lingering = 0;  // sessions reading a client to its end before they close (http_session::finish)
  std::array<char, 4096> dropped{};  // where they read it: this server's one thread, what lands here is dropped
  std::atomic<std::uint64_t> open{0}, accepted{0}, evicted{0}, timed_out{0};
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  asio::steady_timer accept_pause{io};
  std::uint16_t port = 0;
  std::thread thread;

  void accept();
  void make_room();
  /// Open = not closed by us (their descriptors are gone even if their handlers have yet to run).
  void count() { open.store(sessions.size() - closing, std::memory_order_relaxed); }
  http_stats stats() const {
    return {open.load(std::memory_order_relaxed), accepted.load(std::memory_order_relaxed),
            evicted.load(std::memory_order_relaxed), timed_out.load(std::memory_order_relaxed)};
  }
};

class http_session : public std::enable_shared_from_this<http_session> {
 public:
  http_session(http_server::impl& s, tcp::socket sock) : server_(s), stream_(std::move(sock)) {
    where_ = server_.sessions.insert(server_.sessions.end(), this);
    server_.count();
  }
  ~http_session() {
    if (closed_) --server_.closing;
    if (lingering_) --server_.lingering;
    server_.sessions.erase(where_);
    server_.count();
  }
  http_session(const http_session&) = delete;
  http_session& operator=(const http_session&) = delete;

  void start() { read(server_.limits.header_timeout); }

  /// Waiting for a request (not writing an answer), and since when.
  bool reading() const { return reading_; }
  steady::time_point since() const { return since_; }
  /// Closed (by us) but not yet destroyed: its handlers still have to run.
  bool closed() const { return closed_; }
  void close() {
    mark_closed();
    if (lingering_) {
      lingering_ = false;
      --server_.lingering;
    }
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

 private:
  using response = http::response<http::string_body>;

  void read(std::chrono::milliseconds deadline) {
    reading_ = true;
    since_ = steady::now();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_.limits.max_request_bytes));
    parser_->body_limit(server_.limits.max_request_bytes);
    stream_.expires_after(deadline);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == beast::error::timeout) {
      server_.timed_out.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (ec == http::error::end_of_stream || ec == asio::error::operation_aborted) return;
    if (ec) {  // malformed or too large: say so and close
      drain_ = true;  // the rest of the request may still be on its way
      auto a = server_.error(400, "bad request: " + ec.message());
      a.close = true;
      answer(std::move(a), 11, false);
      return;
    }
    handle(parser_->release());
  }

  void handle(const http::request<http::string_body>& req) {
    const auto target = view(req.target());
    http_request r{view(req.method_string()), target, target.substr(0, target.find('?')), {}};
    for (const auto& field : req) r.headers.emplace_back(view(field.name_string()), view(field.value()));
    http_response a;
    try {
      a = server_.handler(r, server_.stats());
    } catch (const std::exception& e) {
      a = server_.error(500, e.what());
      a.close = true;
    }
    answer(std::move(a), req.version(), req.keep_alive(), req.method() == http::verb::head);
  }

  void answer(http_response a, unsigned version, bool keep_alive, bool head = false) {
    reading_ = false;
    since_ = steady::now();
    res_ = response{static_cast<http::status>(a.status), version};
    res_.set(http::field::content_type, a.content_type);
    for (const auto& [name, value] : a.headers) res_.set(name, value);
    res_.keep_alive(keep_alive && !a.close);
    if (head) {
      res_.content_length(a.body.size());  // the GET's headers, no body
    } else {
      res_.body() = std::move(a.body);
      res_.prepare_payload();
    }
    stream_.expires_after(server_.limits.write_timeout);
    http::async_write(stream_, res_, [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_write(ec); });
  }

  void on_write(beast::error_code ec) {
    if (ec == beast::error::timeout) server_.timed_out.fetch_add(1, std::memory_order_relaxed);
    if (ec) return close();
    if (!res_.keep_alive()) return finish();
    read(server_.limits.idle_timeout);
  }

  void mark_closed() {
    if (!closed_) ++server_.closing;
    closed_ = true;
    server_.count();
  }

  // After an answer that ends the connection: with the client's bytes still unread (a request past
  // the limit whose rest is on its way), closing would send an RST that can lose the answer. So send
  // FIN, read and drop until the client's FIN or linger_time, then close; at most max_lingering at
  // once (they count as closed: never open, never evicted). Else close at once.
  void finish() {
    static constexpr std::size_t max_lingering = 64;
    static constexpr std::chrono::seconds linger_time{2};
    beast::error_code ec;
    auto& sock = stream_.socket();
    if (!(drain_ || sock.available(ec) > 0) || server_.lingering >= max_lingering) return close();
    mark_closed();
    lingering_ = true;
    ++server_.lingering;
    sock.shutdown(tcp::socket::shutdown_send, ec);
    stream_.expires_after(linger_time);
    discard();
  }
  void discard() {
    stream_.async_read_some(asio::buffer(server_.dropped), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->close();  // the client's FIN, a reset, or the linger's end
      self->discard();
    });
  }

  http_server::impl& server_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  response res_;
  std::list<http_session*>::iterator where_;
  bool reading_ = true;
  bool closed_ = false;
  bool drain_ = false;      // the request was refused unread: linger at the end even if nothing waits yet
  bool lingering_ = false;  // finish() reads the client to its end
  steady::time_point since_ = steady::now();
};

void http_server::impl::accept() {
  acceptor.async_accept([this](beast::error_code ec, tcp::socket sock) {
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
    if (ec) {
      // Out of descriptors or memory (EMFILE, ENOBUFS...): pause rather than spin; the deadlines
      // and the cap free descriptors meanwhile.
      accept_pause.expires_after(std::chrono::milliseconds(50));
      accept_pause.async_wait([this](beast::error_code e) {
        if (!e) accept();
      });
      return;
    }
    accepted.fetch_add(1, std::memory_order_relaxed);
    if (sessions.size() - closing >= limits.max_connections) make_room();
    std::make_shared<http_session>(*this, std::move(sock))->start();
    accept();
  });
}

void http_server::impl::make_room() {
  // The connection waiting longest for a request (idle keep-alive or a slow header); one writing
  // an answer is closed only if every connection is writing.
  http_session* idlest = nullptr;
  for (auto* s : sessions) {
    if (s->closed()) continue;
    if (!idlest || (s->reading() && !idlest->reading()) || (s->reading() == idlest->reading() && s->since() < idlest->since()))
      idlest = s;
  }
  if (!idlest) return;
  evicted.fetch_add(1, std::memory_order_relaxed);
  idlest->close();
}

http_server::http_server(const std::string& host, std::uint16_t port, http_limits limits, http_handler handler,
                         http_error_answer error)
    : impl_(std::make_shared<impl>()) {
  impl_->limits = limits;
  impl_->handler = std::move(handler);
  impl_->error = std::move(error);
  beast::error_code ec;
  const auto addr = asio::ip::make_address(host, ec);
  if (ec) throw std::runtime_error(fmt::format("'{}' is not an IP address", host));
  const tcp::endpoint ep{addr, port};
  auto& a = impl_->acceptor;
  const auto fail = [&](const char* step) {
    return std::runtime_error(fmt::format("cannot {} {}:{}: {}", step, host, port, ec.message()));
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

http_server::~http_server() {
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

std::uint16_t http_server::port() const { return impl_->port; }

http_stats http_server::stats() const { return impl_->stats(); }

}  // namespace agner::exporter
