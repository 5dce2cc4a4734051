#include "io_service.hpp"

#include <array>
#include <deque>
#include <system_error>
#include <variant>

#include <fmt/format.h>

#include "node_state.hpp"
#include "signals.hpp"

namespace agner::detail {

namespace asio = boost::asio;
using asio::ip::tcp;

/// Bytes waiting to be written: owned text or a shared binary.
struct io_service::chunk {
  std::string owned;
  binary shared;
  std::string_view view() const noexcept { return shared.size() ? shared.view() : std::string_view(owned); }
};

struct io_service::port {
  std::uint64_t id;
  pid owner;
  std::variant<tcp::acceptor, tcp::socket> handle;
  std::array<char, 16384> buffer{};
  bool reading = false;
  bool writing = false;
  std::deque<chunk> out;
  std::size_t out_bytes = 0;
  bool closing = false;                          // closed by its owner, writing what was queued
  std::unique_ptr<asio::steady_timer> linger;    // how long that may last

  port(std::uint64_t i, pid o, tcp::acceptor a) : id(i), owner(o), handle(std::move(a)) {}
  port(std::uint64_t i, pid o, tcp::socket s) : id(i), owner(o), handle(std::move(s)) {}
  tcp::socket* socket() { return std::get_if<tcp::socket>(&handle); }
  tcp::acceptor* acceptor() { return std::get_if<tcp::acceptor>(&handle); }
};

namespace {
std::string peer_of(tcp::socket& s) {
  boost::system::error_code ec;
  auto ep = s.remote_endpoint(ec);
  return ec ? std::string("unknown") : fmt::format("{}:{}", ep.address().to_string(), ep.port());
}
}  // namespace

io_service::io_service(node_state& node, unsigned blocking_threads)
    : node_(node), guard_(asio::make_work_guard(io_)), blocking_(blocking_threads) {
  thread_ = std::thread([this] { io_.run(); });
}

io_service::~io_service() {
  asio::post(io_, [this] {
    for (auto& [id, p] : ports_) {
      boost::system::error_code ec;
      if (auto* s = p->socket()) s->close(ec);
      if (auto* a = p->acceptor()) a->close(ec);
      if (p->linger) p->linger->cancel();  // else io_.run() would wait for it, up to port_close_linger
    }
    ports_.clear();
    by_owner_.clear();
    open_.set(0);
  });
  guard_.reset();
  thread_.join();
  blocking_.stop();  // jobs not started yet are abandoned: stopping must not wait for a backlog
  blocking_.join();
}

std::uint64_t io_service::new_id() noexcept { return next_id_.fetch_add(1, std::memory_order_relaxed); }

port_counters io_service::counters() const noexcept {
  return port_counters{open_.get(), accepted_.get(), bytes_in_.get(), bytes_out_.get()};
}

void io_service::add(std::shared_ptr<port> p) {
  by_owner_.emplace(p->owner, p->id);
  ports_.emplace(p->id, std::move(p));
  open_.set(ports_.size());
}

std::pair<port_id, std::uint16_t> io_service::listen(pid owner, const std::string& address, std::uint16_t port_number, int backlog) {
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(address, ec);
  if (ec) throw std::system_error(ec, fmt::format("cannot listen on '{}': not an IP address", address));
  tcp::acceptor acceptor(io_);
  tcp::endpoint ep(ip, port_number);
  acceptor.open(ep.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(backlog <= 0 || backlog > asio::socket_base::max_listen_connections ? asio::socket_base::max_listen_connections : backlog, ec);
  if (ec) throw std::system_error(ec, fmt::format("cannot listen on {}:{}", address, port_number));
  const std::uint16_t bound = acceptor.local_endpoint().port();
  auto p = std::make_shared<port>(new_id(), owner, std::move(acceptor));
  port_id id{p->id};
  asio::post(io_, [this, p] {
    add(p);
    accept(p);
  });
  return {id, bound};
}

void io_service::accept(std::shared_ptr<port> p) {
  p->acceptor()->async_accept([this, p](boost::system::error_code ec, tcp::socket s) {
    if (!ports_.count(p->id)) return;  // closed meanwhile
    if (ec) {
      if (ec != asio::error::operation_aborted) drop(p, ec.message(), false);
      return;
    }
    accepted_.add();
    s.set_option(tcp::no_delay(true), ec);
    std::string peer = peer_of(s);
    auto conn = std::make_shared<port>(new_id(), p->owner, std::move(s));
    add(conn);
    // The socket starts passive: it reads nothing until its owner (or whoever it gives the socket
    // to) calls activate, so no data can reach a process that is about to hand it over.
    if (node_.send_value(p->owner, port_signal{port_signal::kind::accepted, port_id{p->id}, port_id{conn->id}, peer}, nullptr) !=
        send_outcome::queued)
      drop(conn, "owner gone", false);
    accept(p);
  });
}

void io_service::connect(pid owner, const std::string& host, std::uint16_t port_number) {
  asio::post(io_, [this, owner, host, port_number] {
    auto resolver = std::make_shared<tcp::resolver>(io_);
    resolver->async_resolve(host, std::to_string(port_number), [this, owner, resolver, host](boost::system::error_code ec, tcp::resolver::results_type found) {
      if (ec) {
        node_.send_value(owner, tcp_closed{port_id{}, fmt::format("cannot resolve '{}': {}", host, ec.message())}, nullptr);
        return;
      }
      auto sock = std::make_shared<tcp::socket>(io_);
      asio::async_connect(*sock, found, [this, owner, sock](boost::system::error_code ec2, const tcp::endpoint&) {
        if (ec2) {
          node_.send_value(owner, tcp_closed{port_id{}, ec2.message()}, nullptr);
          return;
        }
        sock->set_option(tcp::no_delay(true), ec2);
        std::string peer = peer_of(*sock);
        auto conn = std::make_shared<port>(new_id(), owner, std::move(*sock));
        add(conn);
        if (node_.send_value(owner, port_signal{port_signal::kind::connected, port_id{}, port_id{conn->id}, peer}, nullptr) !=
            send_outcome::queued)
          drop(conn, "owner gone", false);
      });
    });
  });
}

void io_service::read(std::shared_ptr<port> p) {
  p->reading = true;
  p->socket()->async_read_some(asio::buffer(p->buffer), [this, p](boost::system::error_code ec, std::size_t n) {
    p->reading = false;
    if (!ports_.count(p->id)) return;
    if (ec) {
      drop(p, ec == asio::error::eof ? "closed" : ec.message(), true);
      return;
    }
    if (p->closing) return;  // its owner closed it: nobody reads any more
    bytes_in_.add(n);
    // {active, once}: the owner re-arms with activate() when it wants more.
    if (node_.send_value(p->owner, tcp_data{port_id{p->id}, std::string(p->buffer.data(), n)}, nullptr) != send_outcome::queued)
      drop(p, "owner gone", false);
  });
}

void io_service::activate(port_id id) {
  asio::post(io_, [this, id] {
    auto it = ports_.find(id.id);
    if (it != ports_.end() && it->second->socket() && !it->second->reading) read(it->second);
  });
}

void io_service::send(port_id id, std::string bytes) { enqueue(id, chunk{std::move(bytes), {}}); }
void io_service::send(port_id id, binary bytes) { enqueue(id, chunk{{}, std::move(bytes)}); }

// Sends from any thread queue under one short lock; only the first send into an empty queue posts
// to the I/O thread (a doorbell), so a fan-out of N sends costs one wake-up of the I/O thread, not N.
// Order holds: a close or give posted after a send finds the drain that carries it queued before it.
void io_service::enqueue(port_id id, chunk c) {
  bool ring = false;
  {
    std::lock_guard lock(sends_mutex_);
    sends_.emplace_back(id, std::move(c));
    ring = !doorbell_;
    doorbell_ = true;
  }
  if (ring) asio::post(io_, [this] { drain_sends(); });
}

void io_service::drain_sends() {
  {
    std::lock_guard lock(sends_mutex_);
    draining_.swap(sends_);
    doorbell_ = false;
  }
  for (auto& [id, c] : draining_) {
    auto it = ports_.find(id.id);
    if (it == ports_.end() || !it->second->socket() || it->second->closing) continue;
    auto& p = it->second;
    p->out_bytes += c.view().size();
    p->out.push_back(std::move(c));
    if (p->out_bytes > port_send_buffer_limit) {
      drop(std::shared_ptr<port>(p), "send buffer full", true);
      continue;
    }
    if (!p->writing) write(p);
  }
  draining_.clear();
}

void io_service::write(std::shared_ptr<port> p) {
  p->writing = true;
  asio::async_write(*p->socket(), asio::buffer(p->out.front().view()), [this, p](boost::system::error_code ec, std::size_t n) {
    p->writing = false;
    if (!ports_.count(p->id)) return;
    if (ec) {
      drop(p, ec.message(), true);
      return;
    }
    bytes_out_.add(n);
    p->out_bytes -= p->out.front().view().size();
    p->out.pop_front();
    if (!p->out.empty()) write(p);
    else if (p->closing) drop(p, "", false);
  });
}

void io_service::close(port_id id) {
  asio::post(io_, [this, id] {
    auto it = ports_.find(id.id);
    if (it == ports_.end() || it->second->closing) return;
    auto p = it->second;
    if (!p->socket() || p->out.empty()) {
      drop(p, "", false);
      return;
    }
    // Bytes are still queued: write them first (a client's last block must reach it), for at most
    // close_linger; the port no longer belongs to anyone, so its owner may end meanwhile.
    forget_owner(*p);
    p->closing = true;
    p->owner = pid{};
    p->linger = std::make_unique<asio::steady_timer>(io_, port_close_linger);
    p->linger->async_wait([this, p](boost::system::error_code ec) {
      if (!ec && ports_.count(p->id)) drop(p, "", false);
    });
  });
}

void io_service::forget_owner(const port& p) {
  auto [lo, hi] = by_owner_.equal_range(p.owner);
  for (auto o = lo; o != hi; ++o)
    if (o->second == p.id) {
      by_owner_.erase(o);
      break;
    }
}

void io_service::give(port_id id, pid from, pid to) {
  asio::post(io_, [this, id, from, to] {
    auto it = ports_.find(id.id);
    if (it == ports_.end() || it->second->owner != from) return;
    auto p = it->second;
    auto [lo, hi] = by_owner_.equal_range(from);
    for (auto o = lo; o != hi; ++o)
      if (o->second == p->id) {
        by_owner_.erase(o);
        break;
      }
    p->owner = to;
    by_owner_.emplace(to, p->id);
    auto kind = p->socket() ? port_signal::kind::given_socket : port_signal::kind::given_listener;
    if (node_.send_value(to, port_signal{kind, port_id{}, port_id{p->id}, {}}, nullptr) != send_outcome::queued)
      drop(p, "owner gone", false);
  });
}

void io_service::owner_died(pid owner) {
  asio::post(io_, [this, owner] {
    std::vector<std::shared_ptr<port>> owned;
    auto [lo, hi] = by_owner_.equal_range(owner);
    for (auto o = lo; o != hi; ++o)
      if (auto it = ports_.find(o->second); it != ports_.end()) owned.push_back(it->second);
    for (auto& p : owned) drop(p, "owner gone", false);
  });
}

void io_service::drop(const std::shared_ptr<port>& p, const std::string& reason, bool tell_owner) {
  boost::system::error_code ec;
  if (auto* s = p->socket()) s->close(ec);
  if (auto* a = p->acceptor()) a->close(ec);
  if (p->linger) p->linger->cancel();
  ports_.erase(p->id);
  if (!p->closing) forget_owner(*p);
  open_.set(ports_.size());
  if (tell_owner && !p->closing) node_.send_value(p->owner, tcp_closed{port_id{p->id}, reason, p->out.size()}, nullptr);
}

}  // namespace agner::detail
