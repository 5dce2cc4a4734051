// The client process: the first line, then the match's blocks to the socket.
#include <functional>

#include <fmt/format.h>

#include "agner/runtime/runtime.hpp"
#include "agner/runtime/supervisor.hpp"
#include "connection.hpp"
#include "lines.hpp"

namespace matchstream {

client_process::client_process(service* s, agner::port_id socket, std::string peer)
    : s_(s), socket_(socket), peer_(std::move(peer)) {}

client_process::~client_process() {
  if (counted_) s_->metrics.clients_connected.dec();
}

std::string client_process::describe() const {
  static const char* names[] = {"reading its first line", "subscribing", "streaming", "draining after send buffer full"};
  if (user_.empty()) return fmt::format("client from {}, {}", peer_, names[static_cast<int>(state_)]);
  return fmt::format("client {} on {} from {}, {}, {} blocks", user_, match_, peer_, names[static_cast<int>(state_)], blocks_);
}

void client_process::handle(agner::context& ctx, agner::message& m) {
  if (auto* b = m.get<block>()) {
    on_block(ctx, *b);
  } else if (auto* d = m.get<agner::tcp_data>()) {
    on_data(ctx, d->bytes);
  } else if (m.is<agner::port_given>()) {
    ctx.activate(socket_);
    deadline_ = ctx.node().send_after(first_line_timeout, ctx.self(), first_line_deadline{});
  } else if (m.is<first_line_deadline>()) {
    if (state_ == state::first_line) refuse(ctx, "no CONNECT line within 10 s", s_->metrics.refused_timeout);
  } else if (auto* r = m.get<refused>()) {
    if (state_ != state::subscribing) return;
    refuse(ctx, r->why, r->reason == "unknown_match" ? s_->metrics.refused_unknown_match : s_->metrics.refused_overloaded);
  } else if (auto* c = m.get<agner::tcp_closed>()) {
    if (state_ == state::draining) return;
    if (state_ == state::first_line || state_ == state::subscribing) {
      ctx.exit("normal");  // gone before it was a client: nothing to count (its user ends with it)
    } else if (c->reason == "send buffer full") {
      // It stopped reading: what the socket still held is lost, and so is what is on its way to us
      // until the match has taken us off its list (its answer comes after every block sent before).
      s_->metrics.dropped_send_buffer_full.inc(static_cast<double>(c->unsent));
      s_->metrics.closed_send_buffer_full.inc();
      state_ = state::draining;
      ctx.send(match_pid_, unsubscribe{ctx.self()});
      ctx.node().send_after(std::chrono::seconds(5), ctx.self(), drain_deadline{});
    } else {
      finish(ctx, c->reason == "closed" ? s_->metrics.closed_peer_closed : s_->metrics.closed_error);
    }
  } else if (m.is<unsubscribed>() || m.is<drain_deadline>()) {
    if (state_ == state::draining) ctx.exit("normal");
  } else if (auto* down = m.get<agner::down_message>()) {
    if (down->who != match_pid_ || state_ == state::draining) return;
    // The match ended without an end block (it crashed): say so and hang up.
    if (state_ == state::subscribing) {
      refuse(ctx, fmt::format("match {} stopped", escaped(match_)), s_->metrics.refused_unknown_match);
    } else {
      ctx.tcp_send(socket_, fmt::format("ERROR: match {} stopped\n", escaped(match_)));
      ctx.close_port(socket_);
      finish(ctx, s_->metrics.closed_error);
    }
  } else {
    ctx.unhandled(m);
  }
}

void client_process::on_data(agner::context& ctx, std::string& bytes) {
  if (state_ != state::first_line) {
    // A client has nothing more to say: read on (and drop it) to see it hang up, but a line past
    // 64 KiB ends it as it would end any connection (docs/matchstream-protocol.md).
    const auto nl = bytes.rfind('\n');
    unterminated_ = nl == std::string::npos ? unterminated_ + bytes.size() : bytes.size() - nl - 1;
    if (unterminated_ > max_line + 1)  // + 1: the "\r" a line may end with
      return refuse(ctx, "line longer than 64 KiB", s_->metrics.refused_line_too_long);
    ctx.activate(socket_);
    return;
  }
  if (buffer_.empty()) buffer_.swap(bytes);
  else buffer_ += bytes;
  const auto nl = buffer_.find('\n');
  if (line_too_long(buffer_, nl)) return refuse(ctx, "line longer than 64 KiB", s_->metrics.refused_line_too_long);
  if (nl == std::string::npos) {
    ctx.activate(socket_);
    return;
  }
  std::string line = buffer_.substr(0, nl);
  buffer_.erase(0, nl + 1);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
  on_first_line(ctx, std::move(line));
}

void client_process::on_first_line(agner::context& ctx, std::string line) {
  ctx.node().cancel_timer(deadline_);  // no dead letter when it ends before the 10 s
  auto p = parse_first_line(line);
  if (p.what == first_line::kind::connect) return connect(ctx, p.user, p.match);
  if (p.what == first_line::kind::watch) {
    // A watcher: its own process takes the socket (and what came after the line).
    auto w = ctx.spawn<watcher_process>(s_, socket_, peer_, p.match, std::move(buffer_));
    ctx.give_port(socket_, w);
    ctx.exit("normal");
    return;
  }
  if (p.what == first_line::kind::bad_match_id) return refuse(ctx, match_id_error(p.match), s_->metrics.refused_bad_first_line);
  if (p.what == first_line::kind::bad_user) return refuse(ctx, user_error(p.user), s_->metrics.refused_bad_first_line);
  if (p.what == first_line::kind::unsupported_version)
    return refuse(ctx, fmt::format("unsupported version {} (this server speaks 1)", escaped(p.version)), s_->metrics.refused_unsupported_version);
  refuse(ctx, std::string(p.what == first_line::kind::bad_watch ? watch_usage : connect_usage),
         s_->metrics.refused_bad_first_line);
}

void client_process::connect(agner::context& ctx, const std::string& user, const std::string& match) {
  auto m = ctx.node().whereis(match_name(match));
  if (!m) return refuse(ctx, "unknown match " + escaped(match), s_->metrics.refused_unknown_match);
  user_ = user;
  match_ = match;
  // What came after the CONNECT line in the same read: only its unended tail counts (on_data).
  if (const auto nl = buffer_.rfind('\n'); nl != std::string::npos) buffer_.erase(0, nl + 1);
  unterminated_ = buffer_.size();
  buffer_.clear();
  match_pid_ = *m;
  state_ = state::subscribing;
  ctx.monitor(match_pid_);
  ctx.activate(socket_);
  // The user process lives under the shard its name hashes to (the write-up's fix for one
  // overcrowded simple_one_for_one).
  const auto shard = std::hash<std::string>{}(user) % s_->user_shards;
  auto sup = ctx.node().whereis(fmt::format("user_sup_{}", shard));
  if (!sup) return refuse(ctx, "overloaded, retry later", s_->metrics.refused_overloaded);
  agner::child_spec spec;
  spec.id = fmt::format("{}@{}", user, ctx.self());
  spec.restart = agner::restart_type::temporary;
  spec.shutdown = std::chrono::milliseconds(0);
  spec.start = [s = s_, client = ctx.self(), user, match](agner::context& c) {
    return c.spawn_link<user_process>(s, client, user, match);
  };
  ctx.request(*sup, agner::start_child{std::move(spec)}, std::chrono::seconds(10), [this](agner::context& c, agner::reply& r) {
    if (state_ != state::subscribing) return;
    if (!r.ok() || !r.get<agner::pid>()) refuse(c, "overloaded, retry later", s_->metrics.refused_overloaded);
  });
}

void client_process::on_block(agner::context& ctx, block& b) {
  if (state_ == state::draining) {
    s_->metrics.dropped_send_buffer_full.inc();
    return;
  }
  if (state_ == state::first_line) return;
  if (!counted_) {
    counted_ = true;
    s_->metrics.clients_connected.inc();
  }
  state_ = state::streaming;
  ctx.tcp_send(socket_, std::move(b.bytes));
  ++blocks_;
  s_->metrics.events_delivered.inc();
  s_->metrics.delivery_latency.observe(static_cast<double>(now_us() - b.at_us) / 1e6);
  if (b.last) {
    ctx.close_port(socket_);  // after the end block is written
    finish(ctx, s_->metrics.closed_match_ended);
  }
}

void client_process::refuse(agner::context& ctx, const std::string& why, agner::exporter::counter& reason) {
  reason.inc();
  ctx.tcp_send(socket_, fmt::format("ERROR: {}\n", why));
  ctx.close_port(socket_);
  ctx.exit("normal");
}

void client_process::finish(agner::context& ctx, agner::exporter::counter& reason) {
  reason.inc();
  ctx.exit("normal");
}

}  // namespace matchstream
