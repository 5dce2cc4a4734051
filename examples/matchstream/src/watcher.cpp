// The watcher process: JSON events in, OK <seq> / ERROR: <sentence> out, one line at a time.
#include <fmt/format.h>

#include "agner/runtime/runtime.hpp"
#include "agner/runtime/supervisor.hpp"
#include "connection.hpp"
#include "lines.hpp"
#include "match_process.hpp"

namespace matchstream {

watcher_process::watcher_process(service* s, agner::port_id socket, std::string peer, std::string match, std::string rest)
    : s_(s), socket_(socket), peer_(std::move(peer)), match_(std::move(match)), buffer_(std::move(rest)) {}

watcher_process::~watcher_process() {
  if (busy_) s_->unanswered.fetch_sub(1, std::memory_order_relaxed);
}

std::string watcher_process::describe() const {
  return fmt::format("watcher of {} from {}, {} events, {} errors{}", match_, peer_, events_, errors_,
                     busy_ ? ", waiting for the match" : "");
}

void watcher_process::handle(agner::context& ctx, agner::message& m) {
  if (auto* d = m.get<agner::tcp_data>()) {
    buffer_ += d->bytes;
    next(ctx);
  } else if (m.is<agner::port_given>()) {
    next(ctx);
  } else if (m.is<agner::tcp_closed>()) {
    ctx.exit("normal");
  } else {
    ctx.unhandled(m);
  }
}

void watcher_process::answer(agner::context& ctx, const std::string& line) {
  ctx.tcp_send(socket_, line);
}

/// Takes the next complete line, if any and if no event is with the match; else reads on.
void watcher_process::next(agner::context& ctx) {
  while (!busy_ && !closed_) {
    if (s_->draining.load(std::memory_order_relaxed)) return;  // stopping: no new event
    const auto nl = buffer_.find('\n');
    // A line past 64 KiB ends the watcher however TCP cut it: with its newline in the same read
    // or not yet sent (docs/matchstream-protocol.md).
    if (line_too_long(buffer_, nl)) {
      ++errors_;
      s_->metrics.refused_line_too_long.inc();
      answer(ctx, "ERROR: line longer than 64 KiB\n");
      ctx.close_port(socket_);
      closed_ = true;
      ctx.exit("normal");
      return;
    }
    if (nl == std::string::npos) {
      ctx.activate(socket_);
      return;
    }
    std::string line = buffer_.substr(0, nl);
    buffer_.erase(0, nl + 1);
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
    auto parsed = parse_watcher_line(line);
    if (!parsed.error.empty()) {
      ++errors_;
      answer(ctx, fmt::format("ERROR: {}\n", parsed.error));
      continue;
    }
    auto& event = parsed.event;
    // The kind's shape first: a fresh match id gets the sentence a started match gives.
    if (auto why = kind_error(event); !why.empty()) {
      ++errors_;
      answer(ctx, fmt::format("ERROR: {}\n", why));
      continue;
    }
    busy_ = true;
    s_->unanswered.fetch_add(1, std::memory_order_relaxed);
    if (auto m = ctx.node().whereis(match_name(match_))) {
      send_event(ctx, *m, std::move(event));
    } else if (event["kind"] == "start") {
      // A start the match would refuse creates nothing: it is applied to a scratch status first (a
      // start resets the whole status, so the match gives the same answer).
      match_status scratch;
      if (auto tried = apply_event(scratch, event, 1, now_us()); !tried.error.empty()) {
        busy_ = false;
        ++errors_;
        answer(ctx, fmt::format("ERROR: {}\n", tried.error));
        s_->unanswered.fetch_sub(1, std::memory_order_relaxed);
        continue;
      }
      // The first start creates the match under match_sup (a race with another watcher's start
      // loses to it: the name is then taken, and the event goes to the winner).
      agner::child_spec spec;
      spec.id = match_name(match_);
      spec.restart = agner::restart_type::temporary;
      spec.start = [s = s_, id = match_](agner::context& c) {
        return c.spawn_link_with<match_process>(agner::spawn_options{.name = match_name(id)}, s, id, match_status{},
                                                std::int64_t{0});
      };
      auto sup = ctx.node().whereis("match_sup");
      if (!sup) {
        busy_ = false;
        ++errors_;
        answer(ctx, "ERROR: the match supervisor is not running\n");
        s_->unanswered.fetch_sub(1, std::memory_order_relaxed);
        continue;
      }
      ctx.request(*sup, agner::start_child{std::move(spec)}, std::chrono::seconds(10),
                  [this, event = std::move(event)](agner::context& c, agner::reply&) mutable {
                    if (auto started = c.node().whereis(match_name(match_))) {
                      send_event(c, *started, std::move(event));
                    } else {
                      busy_ = false;
                      ++errors_;
                      answer(c, fmt::format("ERROR: could not start match {}\n", escaped(match_)));
                      s_->unanswered.fetch_sub(1, std::memory_order_relaxed);
                      next(c);
                    }
                  });
    } else {
      busy_ = false;
      ++errors_;
      answer(ctx, fmt::format("ERROR: unknown match {} (send a start event first)\n", escaped(match_)));
      s_->unanswered.fetch_sub(1, std::memory_order_relaxed);
    }
  }
}

void watcher_process::send_event(agner::context& ctx, agner::pid match, nlohmann::json event) {
  ctx.request(match, register_event{std::move(event)}, std::chrono::seconds(30), [this](agner::context& c, agner::reply& r) {
    busy_ = false;
    if (auto* res = r.get<event_result>(); res && r.ok()) {
      if (res->error.empty()) {
        ++events_;
        answer(c, fmt::format("OK {}\n", res->seq));
      } else {
        ++errors_;
        answer(c, fmt::format("ERROR: {}\n", res->error));
      }
    } else {
      ++errors_;
      answer(c, r.outcome() == agner::reply::status::timeout ? "ERROR: the match did not answer in 30 s\n"
                                                              : "ERROR: match ended\n");
    }
    s_->unanswered.fetch_sub(1, std::memory_order_relaxed);
    next(c);
  });
}

}  // namespace matchstream
