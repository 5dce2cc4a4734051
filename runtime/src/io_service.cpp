#include "io_service.hpp"

#include <array>
#include <chrono>
#include <deque>
#include <future>
#include <span>
#include <system_error>
#include <variant>

#include <fmt/format.h>

#include "deliver.hpp"
#include "signals.hpp"

namespace agner::detail {

namespace asio = boost::asio;
using asio::ip::tcp;

/// Bytes waiting to be written: owned text or a shared binary.
struct io_service::chunk {
  std::string owned;
  binary shared;
  bool is_shared = false;  // spares a call into the binary (and a touch of its block) for owned bytes
  bool is_close = false;   // not bytes: close_port, queued behind the sends before it
  std::string_view view() const noexcept { return is_shared ? shared.view() : std::string_view(owned); }
};

struct io_service::port {
  std::uint64_t id;
  pid owner;
  std::variant<tcp::acceptor, tcp::socket> handle;
  bool reading = false;                          // waiting until the socket has bytes to read
  bool writing = false;                          // waiting until the socket takes more bytes
  bool flush_due = false;                        // in flushing_ for the drain under way
  bool dropped = false;
  std::deque<chunk> out;
  std::size_t out_front_written = 0;             // bytes of out.front() already written
  std::size_t out_bytes = 0;                     // bytes in `out` not yet written
  bool closing = false;                          // closed by its owner, writing what was queued
  bool draining = false;                         // all written and FIN sent: reading the peer's rest until its FIN
  std::unique_ptr<asio::steady_timer> linger;    // how long that may last; a listener's retry after EMFILE

  port(std::uint64_t i, pid o, tcp::acceptor a) : id(i), owner(o), handle(std::move(a)) {}
  port(std::uint64_t i, pid o, tcp::socket s) : id(i), owner(o), handle(std::move(s)) {}
  tcp::socket* socket() { return std::get_if<tcp::socket>(&handle); }
  tcp::acceptor* acceptor() { return std::get_if<tcp::acceptor>(&handle); }
};

namespace {
// One gathered write (writev) takes at most this many queued sends (Asio's own iovec bound).
constexpr std::size_t buffers_per_write = 64;
// A flush writes at most this many times before it lets other sockets' work run.
constexpr int writes_per_flush = 16;
// Connections accepted per wake-up of a listener: the listen queue drains at the rate the I/O
// thread turns, not one connection per turn.
constexpr int accepts_per_turn = 64;
// After an accept fails for want of descriptors or memory, the listener tries again this much later.
constexpr std::chrono::milliseconds accept_retry{50};

std::string peer_of(tcp::socket& s) {
  boost::system::error_code ec;
  auto ep = s.remote_endpoint(ec);
  return ec ? std::string("unknown") : fmt::format("{}:{}", ep.address().to_string(), ep.port());
}
}  // namespace

io_service::io_service(deliver_hook& deliver, unsigned blocking_threads)
    : deliver_(deliver), guard_(asio::make_work_guard(io_)), blocking_(blocking_threads) {
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
  return port_counters{open_.get(), accepted_.get(), bytes_in_.get(), bytes_out_.get(), accept_failures_.get()};
}

void io_service::add(std::shared_ptr<port> p) {
  // Non-blocking, so a flush can write at once and learn "would block" instead of waiting.
  boost::system::error_code ec;
  if (auto* s = p->socket()) s->non_blocking(true, ec);
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
  if (ec == asio::error::address_in_use && std::this_thread::get_id() != thread_.get_id()) {
    // A listener its supervisor just restarted finds its predecessor's socket still open: a dead
    // owner's ports close on the I/O thread (owner_died, posted before its links were told). Let
    // the I/O thread catch up with what was posted before, then bind once more.
    auto caught_up = std::make_shared<std::promise<void>>();
    auto done = caught_up->get_future();
    asio::post(io_, [caught_up] { caught_up->set_value(); });
    if (done.wait_for(std::chrono::seconds(1)) == std::future_status::ready) {
      ec.clear();
      acceptor.bind(ep, ec);
    }
  }
  if (!ec) acceptor.listen(backlog <= 0 || backlog > asio::socket_base::max_listen_connections ? asio::socket_base::max_listen_connections : backlog, ec);
  if (!ec) acceptor.non_blocking(true, ec);  // accept() drains the listen queue until "would block"
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
    if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space || ec == asio::error::no_memory ||
        ec == boost::system::errc::too_many_files_open_in_system) {
      // The node's trouble, not the listener's: keep it, and try again shortly (as an Erlang acceptor
      // retries after {error, emfile}) rather than spin or close it.
      accept_failures_.add();
      if (!p->linger) p->linger = std::make_unique<asio::steady_timer>(io_);
      p->linger->expires_after(accept_retry);
      p->linger->async_wait([this, p](boost::system::error_code e) {
        if (!e && ports_.count(p->id)) accept(p);
      });
      return;
    }
    if (ec) {
      if (ec != asio::error::operation_aborted) drop(p, ec.message(), false);
      return;
    }
    adopt(*p, std::move(s));
    // Take the others already waiting too: one wake-up per connection would leave them queued
    // behind everything else the I/O thread does. An error here (would block, or one the next
    // async_accept will report) ends the turn.
    for (int i = 1; i < accepts_per_turn && ports_.count(p->id); ++i) {
      tcp::socket more(io_);
      p->acceptor()->accept(more, ec);
      if (ec) break;
      adopt(*p, std::move(more));
    }
    if (ports_.count(p->id)) accept(p);
  });
}

void io_service::adopt(const port& listener, tcp::socket s) {
  boost::system::error_code ec;
  accepted_.add();
  s.set_option(tcp::no_delay(true), ec);
  std::string peer = peer_of(s);
  auto conn = std::make_shared<port>(new_id(), listener.owner, std::move(s));
  add(conn);
  // The socket starts passive: it reads nothing until its owner (or whoever it gives the socket
  // to) calls activate, so no data can reach a process that is about to hand it over.
  if (deliver_.deliver_value(listener.owner, port_signal{port_signal::kind::accepted, port_id{listener.id}, port_id{conn->id}, peer}) !=
      send_outcome::queued)
    drop(conn, "owner gone", false);
}

void io_service::connect(pid owner, const std::string& host, std::uint16_t port_number) {
  asio::post(io_, [this, owner, host, port_number] {
    auto resolver = std::make_shared<tcp::resolver>(io_);
    resolver->async_resolve(host, std::to_string(port_number), [this, owner, resolver, host](boost::system::error_code ec, tcp::resolver::results_type found) {
      if (ec) {
        deliver_.deliver_value(owner, tcp_closed{port_id{}, fmt::format("cannot resolve '{}': {}", host, ec.message())});
        return;
      }
      auto sock = std::make_shared<tcp::socket>(io_);
      asio::async_connect(*sock, found, [this, owner, sock](boost::system::error_code ec2, const tcp::endpoint&) {
        if (ec2) {
          deliver_.deliver_value(owner, tcp_closed{port_id{}, ec2.message()});
          return;
        }
        sock->set_option(tcp::no_delay(true), ec2);
        std::string peer = peer_of(*sock);
        auto conn = std::make_shared<port>(new_id(), owner, std::move(*sock));
        add(conn);
        if (deliver_.deliver_value(owner, port_signal{port_signal::kind::connected, port_id{}, port_id{conn->id}, peer}) !=
            send_outcome::queued)
          drop(conn, "owner gone", false);
      });
    });
  });
}

// Waits until the socket is readable, then reads into the I/O thread's one buffer: a port holds no
// read buffer of its own, so 10,000 idle connections cost 10,000 small records, not 160 MB of
// buffers that also scatter the ports the send path walks over many pages.
void io_service::read(std::shared_ptr<port> p) {
  p->reading = true;
  p->socket()->async_wait(tcp::socket::wait_read, [this, p](boost::system::error_code ec) {
    p->reading = false;
    if (!ports_.count(p->id)) return;
    std::size_t n = 0;
    if (!ec) n = p->socket()->read_some(asio::buffer(read_buffer_), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {  // readable, then not: wait again
      if (!p->closing || p->draining) read(p);
      return;
    }
    if (ec) {
      drop(p, ec == asio::error::eof ? "closed" : ec.message(), true);
      return;
    }
    if (p->draining) {  // the peer's bytes after our close: discarded, until its FIN (or the linger ends)
      read(p);
      return;
    }
    if (p->closing) return;  // its owner closed it: nobody reads any more
    bytes_in_.add(n);
    // {active, once}: the owner re-arms with activate() when it wants more.
    if (deliver_.deliver_value(p->owner, tcp_data{port_id{p->id}, std::string(read_buffer_.data(), n)}) != send_outcome::queued)
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
void io_service::send(port_id id, binary bytes) { enqueue(id, chunk{{}, std::move(bytes), true}); }

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
  // Queue every send first and write afterwards, so the sends of one burst to one socket leave in
  // one gathered write. Consecutive sends to one socket look it up once.
  std::uint64_t cur_id = 0;
  const std::shared_ptr<port>* cur = nullptr;
  for (auto& [id, c] : draining_) {
    if (id.id != cur_id) {
      cur_id = id.id;
      auto it = ports_.find(id.id);
      cur = it == ports_.end() ? nullptr : &it->second;
    }
    if (!cur) continue;
    port& p = **cur;
    if (c.is_close) {
      if (!begin_close(std::shared_ptr<port>(*cur))) cur = nullptr;  // dropped (a listener, a dead socket): erased
      continue;
    }
    if (!p.socket() || p.closing) continue;
    p.out_bytes += c.view().size();
    p.out.push_back(std::move(c));
    if (p.out_bytes > port_send_buffer_limit) {
      drop(std::shared_ptr<port>(*cur), "send buffer full", true);
      cur = nullptr;  // erased; later sends to it in this batch are dropped like any to a closed port
      continue;
    }
    if (!p.writing && !p.flush_due) {
      p.flush_due = true;
      flushing_.push_back(*cur);
    }
  }
  draining_.clear();
  for (auto& p : flushing_) {
    p->flush_due = false;
    if (!p->dropped) flush(p);
  }
  flushing_.clear();
}

// Writes what is queued on `p` at once, up to buffers_per_write sends per writev, until the queue is
// empty or the socket would block; then waits until it is writable and goes on.
void io_service::flush(const std::shared_ptr<port>& p) {
  auto& sock = *p->socket();
  std::array<asio::const_buffer, buffers_per_write> buffers;
  for (int turn = 0; turn < writes_per_flush && !p->out.empty(); ++turn) {
    std::size_t n = 0;
    for (auto it = p->out.begin(); it != p->out.end() && n < buffers.size(); ++it, ++n)
      buffers[n] = asio::buffer(n == 0 ? it->view().substr(p->out_front_written) : it->view());
    boost::system::error_code ec;
    std::size_t written = sock.write_some(std::span<const asio::const_buffer>(buffers.data(), n), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) break;
    if (ec) {
      drop(p, ec.message(), true);
      return;
    }
    bytes_out_.add(written);
    p->out_bytes -= written;
    while (!p->out.empty()) {
      std::size_t left = p->out.front().view().size() - p->out_front_written;
      if (left > written) {
        p->out_front_written += written;
        break;
      }
      written -= left;
      p->out_front_written = 0;
      p->out.pop_front();
    }
  }
  if (p->out.empty()) {
    if (p->closing) drain_input(p);
    return;
  }
  // The socket would block, or this flush had its turn: go on once it is writable.
  p->writing = true;
  sock.async_wait(tcp::socket::wait_write, [this, p](boost::system::error_code ec) {
    p->writing = false;
    if (p->dropped || !ports_.count(p->id)) return;
    if (ec) {
      drop(p, ec.message(), true);
      return;
    }
    flush(p);
  });
}

// A close goes through the send queue, behind the sends before it: posted on its own, it could
// overtake a send whose doorbell another thread had yet to ring, and the last line would be lost.
void io_service::close(port_id id) { enqueue(id, chunk{{}, {}, false, true}); }

bool io_service::begin_close(std::shared_ptr<port> p) {  // a copy: drop() erases the map's
  if (p->closing) return true;
  if (!p->socket()) {
    drop(p, "", false);
    return false;
  }
  // Bytes may still be queued: written first (a client's last block must reach it), then the peer
  // is read to its end (drain_input), all in at most port_close_linger; the port no longer belongs
  // to anyone, so its owner may end meanwhile.
  forget_owner(*p);
  p->closing = true;
  p->owner = pid{};
  p->linger = std::make_unique<asio::steady_timer>(io_, port_close_linger);
  p->linger->async_wait([this, p](boost::system::error_code ec) {
    if (!ec && ports_.count(p->id)) drop(p, "", false);
  });
  // Else the flush that writes the last queued bytes starts the drain.
  if (p->out.empty() && !p->writing && !p->flush_due) drain_input(p);
  return !p->dropped;
}

// A lingering close, as HTTP servers do: send our FIN after what was written, then read and discard
// until the peer's FIN. Closing with the peer's bytes unread would send an RST instead, and a peer
// that is still sending (a line too long, say) would lose the last answer it had not read yet.
void io_service::drain_input(const std::shared_ptr<port>& p) {
  if (p->draining) return;
  p->draining = true;
  boost::system::error_code ec;
  p->socket()->shutdown(tcp::socket::shutdown_send, ec);
  if (ec) {
    drop(p, "", false);
    return;
  }
  if (!p->reading) read(p);
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
    if (deliver_.deliver_value(to, port_signal{kind, port_id{}, port_id{p->id}, {}}) != send_outcome::queued)
      drop(p, "owner gone", false);
  });
}

void io_service::owner_died(pid owner) {
  asio::post(io_, [this, owner] {
    // What the owner sent and closed before it died is in the send queue, but its doorbell may not
    // have rung yet (another thread's): taken first, so a last line and its close_port hold.
    drain_sends();
    std::vector<std::shared_ptr<port>> owned;
    auto [lo, hi] = by_owner_.equal_range(owner);
    for (auto o = lo; o != hi; ++o)
      if (auto it = ports_.find(o->second); it != ports_.end()) owned.push_back(it->second);
    for (auto& p : owned) drop(p, "owner gone", false);
  });
}

void io_service::drop(const std::shared_ptr<port>& p, const std::string& reason, bool tell_owner) {
  boost::system::error_code ec;
  p->dropped = true;
  if (auto* s = p->socket()) s->close(ec);
  if (auto* a = p->acceptor()) a->close(ec);
  if (p->linger) p->linger->cancel();
  ports_.erase(p->id);
  if (!p->closing) forget_owner(*p);
  open_.set(ports_.size());
  if (tell_owner && !p->closing) deliver_.deliver_value(p->owner, tcp_closed{port_id{p->id}, reason, p->out.size()});
}

}  // namespace agner::detail
