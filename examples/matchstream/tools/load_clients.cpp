// matchstream-load's client engine: every client of this process on one io_context thread, with
// callbacks (no coroutine frames) and one read buffer per client, parsed in place.
#include <algorithm>
#include <utility>
#include <charconv>
#include <cstring>
#include <deque>
#include <memory>
#include <string_view>

#include <boost/asio.hpp>

#include "load.hpp"

namespace matchstream::tools {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

enum class phase { waiting, attempting, streaming, done };

struct client {
  explicit client(asio::io_context& io) : sock(io) {}
  tcp::socket sock;
  std::size_t global_index = 0;
  std::size_t match = 0;
  phase state = phase::waiting;
  steady::time_point attempt_started{};
  std::int64_t last_seq = -1;
  std::string line;                 // the CONNECT line
  std::vector<char> buf;            // unparsed input, [0, fill)
  std::size_t fill = 0;
};

/// A field line "    NAME: VALUE" inside a block, as an integer.
bool find_int_field(std::string_view block, std::string_view key, std::int64_t& out) {
  std::size_t at = block.find(key);
  if (at == std::string_view::npos) return false;
  const char* b = block.data() + at + key.size();
  const char* e = block.data() + block.size();
  auto [p, ec] = std::from_chars(b, e, out);
  return ec == std::errc() && p != b;
}

std::string refusal_reason(std::string_view line) {
  if (line.find("overloaded") != std::string_view::npos) return "overloaded";
  if (line.find("unknown match") != std::string_view::npos) return "unknown_match";
  if (line.find("version") != std::string_view::npos) return "unsupported_version";
  return "error";
}

std::string connect_reason(const boost::system::error_code& ec) {
  if (ec == asio::error::connection_refused) return "refused";
  if (ec == asio::error::connection_reset) return "reset";
  if (ec == asio::error::timed_out) return "timeout";
  if (ec == asio::error::no_descriptors) return "no_fd";
  if (ec == asio::error::address_in_use || ec == boost::system::errc::address_not_available) return "no_port";
  if (ec == asio::error::eof) return "closed";
  return "error";
}

class engine {
 public:
  engine(const load_options& o, std::size_t first, std::size_t count, int worker,
         const std::function<void(const load_report&)>& progress)
      : o_(o), progress_(progress), tick_(io_), retry_timer_(io_), endpoint_(asio::ip::make_address(o.host), o.port) {
    report_.worker = worker;
    report_.clients = count;
    clients_.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      auto c = std::make_unique<client>(io_);
      c->global_index = first + i;
      c->match = (first + i) % o.matches.size();
      c->line = "VERSION:1:CONNECT:" + o.user_prefix + std::to_string(first + i) + ":MATCH:" +
                o.matches[c->match] + "\n";
      clients_.push_back(std::move(c));
    }
    seen_.resize(o.matches.size());
    concurrency_ = std::max<std::size_t>(1, o.concurrency);
  }

  load_report run() {
    started_ = steady::now();
    if (clients_.empty()) return with_matches(report_);
    last_tick_ = started_;
    start_more();
    schedule_tick();
    io_.run();
    report_.latency = total_latency_;
    report_.interval_s = std::chrono::duration<double>(steady::now() - started_).count();
    return with_matches(report_);
  }

 private:
  load_report with_matches(load_report r) const {
    for (std::size_t i = 0; i < seen_.size(); ++i) r.matches[o_.matches[i]] = seen_[i];
    return r;
  }

  // Starts waiting clients while fewer than `concurrency` attempts are in flight and the ramp allows.
  void start_more() {
    double elapsed = std::chrono::duration<double>(steady::now() - started_).count();
    std::size_t n = clients_.size();
    std::size_t allowed = n;
    if (o_.ramp_s > 0 && elapsed < o_.ramp_s)
      allowed = std::min(n, static_cast<std::size_t>(elapsed / o_.ramp_s * static_cast<double>(n)) + 1);
    while (next_ < allowed && report_.connecting < concurrency_ && !stopping_) {
      attempt(*clients_[next_++]);
    }
    start_retries();
  }

  // --reconnect: clients whose delay has passed attempt again, within `concurrency`; the timer
  // wakes for the next one.
  void start_retries() {
    const auto now = steady::now();
    while (!retry_.empty() && retry_.front().first <= now && report_.connecting < concurrency_ && !stopping_) {
      client& c = *retry_.front().second;
      retry_.pop_front();
      attempt(c);
    }
    if (retry_.empty() || retry_armed_ || stopping_) return;
    retry_armed_ = true;
    retry_timer_.expires_at(std::max(retry_.front().first, now + std::chrono::milliseconds(10)));
    retry_timer_.async_wait([this](const boost::system::error_code& ec) {
      retry_armed_ = false;
      if (!ec) start_more();
    });
  }

  // The client starts again after reconnect_s, as a new connection (a status block first).
  void retry(client& c) {
    if (c.state == phase::attempting) --report_.connecting;
    if (c.state == phase::streaming) --report_.connected;
    c.state = phase::waiting;
    boost::system::error_code ignored;
    c.sock.close(ignored);
    c.fill = 0;
    c.last_seq = -1;
    ++report_.reconnects;
    retry_.emplace_back(steady::now() + std::chrono::duration_cast<steady::duration>(
                                            std::chrono::duration<double>(o_.reconnect_s)),
                        &c);
    start_more();
  }

  void attempt(client& c) {
    c.state = phase::attempting;
    c.attempt_started = steady::now();
    ++report_.connecting;
    c.sock.async_connect(endpoint_, [this, &c](const boost::system::error_code& ec) {
      if (c.state != phase::attempting) return;
      if (ec) return fail(c, connect_reason(ec));
      boost::system::error_code ignored;
      c.sock.set_option(tcp::no_delay(true), ignored);
      asio::async_write(c.sock, asio::buffer(c.line), [this, &c](const boost::system::error_code& wec, std::size_t) {
        if (c.state != phase::attempting) return;
        if (wec) return fail(c, connect_reason(wec));
        c.buf.resize(4096);
        read(c);
      });
    });
  }

  void read(client& c) {
    c.sock.async_read_some(asio::buffer(c.buf.data() + c.fill, c.buf.size() - c.fill),
                           [this, &c](const boost::system::error_code& ec, std::size_t got) {
                             on_read(c, ec, got);
                           });
  }

  void on_read(client& c, const boost::system::error_code& ec, std::size_t got) {
    // done, or waiting to reconnect: a read of the closed connection, cancelled
    if (c.state == phase::done || c.state == phase::waiting) return;
    report_.bytes += got;
    c.fill += got;
    if (got) consume(c);
    if (c.state == phase::done) return;
    if (ec) {
      if (c.state == phase::attempting) {
        std::string_view text(c.buf.data(), c.fill);
        if (text.starts_with("ERROR:")) return fail(c, refusal_reason(text));
        return fail(c, connect_reason(ec));
      }
      return fail(c, ec == asio::error::eof ? "closed_before_end" : "reset_before_end");
    }
    if (c.fill == c.buf.size()) c.buf.resize(c.buf.size() * 2);  // one block larger than the buffer
    read(c);
  }

  // Parses every complete block in c.buf, then moves the rest to the front.
  void consume(client& c) {
    std::string_view all(c.buf.data(), c.fill);
    std::size_t pos = 0;
    std::int64_t received = 0;
    while (c.state != phase::done) {
      std::string_view rest = all.substr(pos);
      if (c.state == phase::attempting && rest.starts_with("ERROR:")) {
        std::size_t nl = rest.find('\n');
        if (nl == std::string_view::npos) break;
        return fail(c, refusal_reason(rest.substr(0, nl)));
      }
      std::size_t end = rest.find("\n\n");
      if (end == std::string_view::npos) break;
      if (!received) received = now_us();
      on_block(c, rest.substr(0, end + 1), received);
      pos += end + 2;
    }
    if (c.state == phase::done) return;
    if (pos) {
      std::memmove(c.buf.data(), c.buf.data() + pos, c.fill - pos);
      c.fill -= pos;
    }
  }

  void on_block(client& c, std::string_view block, std::int64_t received_us) {
    // "YYYY-MM-DD HH:MM:SS: kind:\n"
    std::size_t nl = block.find('\n');
    std::int64_t seq = 0, at_us = 0;
    if (nl == std::string_view::npos || nl < 23 || block[19] != ':' || block[20] != ' ' || block[nl - 1] != ':' ||
        !find_int_field(block, "\n    seq: ", seq) || !find_int_field(block, "\n    at_us: ", at_us)) {
      ++report_.malformed;
      return;
    }
    std::string_view kind = block.substr(21, nl - 22);
    auto& seen = seen_[c.match];
    if (c.state == phase::attempting) {
      if (kind != "status") ++report_.gaps;  // the first block must be the match as it stands
      report_.last_subscribed_s = std::chrono::duration<double>(steady::now() - started_).count();
      c.state = phase::streaming;
      --report_.connecting;
      ++report_.connected;
      ++report_.subscribed;
      c.last_seq = seq;
      start_more();
      if (o_.exit_when_connected && next_ == clients_.size() && report_.connecting == 0) close_all();
    } else {
      if (seq != c.last_seq + 1) {
        ++report_.gaps;
        report_.lost += seq > c.last_seq + 1 ? static_cast<std::uint64_t>(seq - c.last_seq - 1) : 1;
      }
      c.last_seq = seq;
      ++report_.events;
      ++interval_events_;
      interval_latency_.record(received_us - at_us);
      total_latency_.record(received_us - at_us);
    }
    seen.last_seq = std::max(seen.last_seq, seq);
    if (kind == "end") {
      ++report_.ended;
      ++seen.clients_ended;
      finish(c);
    }
  }

  void fail(client& c, const std::string& reason) {
    ++report_.failed[reason];
    if (o_.reconnect_s > 0 && !stopping_) return retry(c);
    finish(c);
    if (o_.exit_when_connected && !stopping_ && next_ == clients_.size() && report_.connecting == 0) close_all();
  }

  void finish(client& c) {
    if (c.state == phase::attempting) --report_.connecting;
    if (c.state == phase::streaming) --report_.connected;
    bool was_waiting = c.state == phase::waiting;
    c.state = phase::done;
    boost::system::error_code ignored;
    c.sock.close(ignored);
    std::vector<char>().swap(c.buf);
    if (!was_waiting) ++done_;
    start_more();
    if (done_ == clients_.size()) stop();
  }

  void stop() {
    stopping_ = true;
    tick_.cancel();
    retry_timer_.cancel();
  }

  void schedule_tick() {
    tick_.expires_after(std::chrono::seconds(1));
    tick_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopping_) return;
      on_tick();
      if (!stopping_) schedule_tick();
    });
  }

  void on_tick() {
    auto now = steady::now();
    // Attempts that took too long fail; a ramp lets more start.
    auto limit = std::chrono::duration<double>(o_.attempt_timeout_s);
    for (std::size_t i = 0; i < next_; ++i) {
      client& c = *clients_[i];
      if (c.state == phase::attempting && now - c.attempt_started > limit) fail(c, "timeout");
    }
    start_more();
    load_report r = report_;
    r.interval_events = interval_events_;
    r.interval_s = std::chrono::duration<double>(now - last_tick_).count();
    r.latency = interval_latency_;
    progress_(with_matches(r));
    interval_events_ = 0;
    interval_latency_.clear();
    last_tick_ = now;
    double elapsed = std::chrono::duration<double>(now - started_).count();
    if (o_.duration_s > 0 && elapsed >= o_.duration_s) close_all();
  }

  // The run is over: close every client still streaming or attempting (not failures).
  void close_all() {
    for (auto& c : clients_) {
      if (c->state == phase::streaming) --report_.connected;
      if (c->state == phase::attempting) --report_.connecting;
      c->state = phase::done;
      boost::system::error_code ignored;
      c->sock.close(ignored);
    }
    stop();
  }

  const load_options& o_;
  std::function<void(const load_report&)> progress_;
  asio::io_context io_{1};
  asio::steady_timer tick_;
  asio::steady_timer retry_timer_;
  std::deque<std::pair<steady::time_point, client*>> retry_;  // due times in order: one delay for all
  bool retry_armed_ = false;
  tcp::endpoint endpoint_;
  std::vector<std::unique_ptr<client>> clients_;
  std::size_t next_ = 0;
  std::size_t done_ = 0;
  std::size_t concurrency_ = 1;
  bool stopping_ = false;
  steady::time_point started_, last_tick_;
  load_report report_;
  std::uint64_t interval_events_ = 0;
  histogram interval_latency_, total_latency_;
  std::vector<match_seen> seen_;
};

}  // namespace

load_report run_clients(const load_options& o, std::size_t first, std::size_t count, int worker,
                        const std::function<void(const load_report&)>& progress) {
  engine e(o, first, count, worker, progress);
  return e.run();
}

}  // namespace matchstream::tools
