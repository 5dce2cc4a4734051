// trace_start and trace_stop (docs/protocol.md, "Message tracing"): recon_trace's safety on the
// wire. Every trace has a message budget, a time budget and a rate limit, all required or capped;
// it ends with its session and with the traced process, and at most limits.max_traces run at once.
#include <fmt/format.h>

#include "fields.hpp"
#include "session.hpp"

namespace agner::introspect {

namespace {
constexpr std::int64_t max_count = 10'000, max_seconds = 3600, max_rate = 1000, max_preview = 4096;

std::int64_t required(const nlohmann::json& req, const char* name, std::int64_t hi, const char* what) {
  if (!fields::has(req, name))
    throw request_error{codes::bad_request, fmt::format("{} is required: {} (1 to {})", name, what, hi)};
  return fields::integer(req, name, 1, hi, 1);
}
}  // namespace

void session::trace_start(const json& req, const json& id) {
  const auto count = required(req, "count", max_count, "stop after this many messages");
  const auto seconds = required(req, "seconds", max_seconds, "stop after this many seconds");
  const auto rate = fields::integer(req, "rate", 1, max_rate, 100);
  const auto preview = fields::integer(req, "bytes", 0, max_preview, 256);
  bool sent = false;
  if (auto it = req.find("sent"); it != req.end()) {
    if (!it->is_boolean()) throw request_error{codes::bad_request, "sent must be true or false"};
    sent = it->get<bool>();
  }
  const pid p = target(req);
  if (srv_.traces >= srv_.options.limits.max_traces)
    return fail(id, codes::busy,
                fmt::format("too many message traces on this node (limit {}); stop one with trace_stop",
                            srv_.options.limits.max_traces));
  const int trace = next_trace_++;
  std::weak_ptr<session> weak = shared_from_this();
  auto sink = std::make_shared<message_trace>(
      trace, trace_budget{static_cast<std::uint64_t>(count), static_cast<std::uint32_t>(rate), static_cast<std::size_t>(preview)},
      srv_.gate, [weak, trace](json frame, bool last) {
        auto self = weak.lock();
        if (!self || !self->traces_.count(trace)) return;  // stopped meanwhile: its frames go too
        if (last) return self->end_trace(trace, std::move(frame));
        self->send(frame);
      });
  switch (start_trace(srv_.rt, p, sent, sink)) {
    case trace_start_result::noproc: return fail_noproc(id, p);
    case trace_start_result::full:  // the runtime's own limit, shared with other users of it
      return fail(id, codes::busy, "too many message traces in this runtime; stop one with trace_stop");
    case trace_start_result::started: break;
  }
  ++srv_.traces;
  const auto deadline = clock::now() + std::chrono::seconds(seconds);
  traces_.emplace(trace, std::make_unique<session_trace>(srv_.io, sink, p, deadline));
  srv_.audit(fmt::format("trace_start by {}: {} count={} seconds={} rate={}{}", peer_, p, count, seconds, rate,
                         sent ? " sent" : ""));
  reply(id, {{"trace", trace}, {"pid", fmt::format("{}", p)}, {"count", count}, {"seconds", seconds},
             {"rate", rate}, {"bytes", preview}, {"sent", sent}});
  tick_trace(trace);
}

void session::tick_trace(int trace) {
  auto it = traces_.find(trace);
  if (it == traces_.end()) return;
  session_trace& t = *it->second;
  if (clock::now() >= t.deadline) return end_trace(trace, t.sink->finish("seconds"));
  // The runtime sends an end event when the traced process ends; this catches the one that ended
  // as the trace started (it may have looked at its flag before the trace set it).
  if (!srv_.rt.process_info(t.target)) {
    auto reason = srv_.rt.exit_reason(t.target);
    return end_trace(trace, t.sink->finish("exited", reason ? *reason : "unknown"));
  }
  if (const auto n = t.sink->suppressed_since_last_look())
    send({{"event", "trace_suppressed"}, {"trace", trace}, {"suppressed", n}});
  t.tick.expires_after(std::min<clock::duration>(std::chrono::seconds(1), t.deadline - clock::now()));
  t.tick.async_wait([weak = std::weak_ptr<session>(shared_from_this()), trace](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (!ec && self) self->tick_trace(trace);
  });
}

void session::trace_stop(const json& req, const json& id) {
  if (!fields::has(req, "trace"))
    throw request_error{codes::bad_request, "trace is required: the number trace_start answered"};
  const auto trace = fields::integer(req, "trace", 1, INT32_MAX, 1);
  auto it = traces_.find(static_cast<int>(trace));
  if (it == traces_.end())
    return fail(id, codes::not_found, fmt::format("no such trace in this session: {}", trace));
  end_trace(static_cast<int>(trace), it->second->sink->finish("stopped"));
  reply(id, {{"trace", trace}});
}

void session::end_trace(int trace, json final_frame) {
  auto it = traces_.find(trace);
  if (it == traces_.end()) return;
  std::unique_ptr<session_trace> t = std::move(it->second);
  traces_.erase(it);
  --srv_.traces;
  stop_trace(srv_.rt, t->target, t->sink.get());  // a no-op after the process's end event
  t->tick.cancel();
  if (!final_frame.is_null()) send(final_frame);
}

void session::end_traces() {
  while (!traces_.empty()) end_trace(traces_.begin()->first, json());
}

}  // namespace agner::introspect
