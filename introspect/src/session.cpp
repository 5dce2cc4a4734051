// An attach session (docs/protocol.md): hello, auth for TCP, then requests checked against the
// session's role. Every buffer an outsider can grow is bounded; bad input gets an error line, and
// before authentication the connection is closed as well.
#include "session.hpp"

#include <fmt/format.h>

#include "agner/introspect/json.hpp"
#include "auth.hpp"

namespace agner::introspect {
namespace {

constexpr int protocol_version = 1;

std::string_view role_name(role r) {
  switch (r) {
    case role::admin: return "admin";
    case role::viewer: return "viewer";
    case role::none: return "none";
  }
  return "none";
}

/// What each operation needs. No eval, no arbitrary call: this table is the whole surface.
struct op_rule {
  std::string_view op;
  role needs;
};
constexpr op_rule ops[] = {
    {"system_info", role::viewer}, {"top", role::viewer},         {"process_info", role::viewer},
    {"kill", role::admin},         {"garbage_collect", role::admin}, {"suspend", role::admin},
    {"resume", role::admin},     {"alarms", role::viewer},      {"ack_alarm", role::admin},
    {"set_alarm", role::admin},  {"clear_alarm", role::admin},  {"override_valve", role::admin},
    {"reload_rules", role::admin},
};

}  // namespace

session::session(server::impl& srv, socket sock, bool tcp, std::string peer)
    : srv_(srv),
      sock_(std::move(sock)),
      tcp_(tcp),
      peer_(std::move(peer)),
      handshake_timer_(srv.io),
      idle_timer_(srv.io) {
  ++srv_.session_count;
  ++srv_.unauthenticated;
}

session::~session() {
  --srv_.session_count;
  if (counted_unauthenticated_) --srv_.unauthenticated;
  if (window_) --srv_.windowed;
}

void session::start() {
  handshake_timer_.expires_after(srv_.options.limits.handshake_timeout);
  handshake_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec && self->stage_ != stage::ready) self->fail_and_close(nullptr, "handshake deadline passed");
  });
  read();
}

void session::read() {
  if (stage_ == stage::closed) return;
  const auto& limits = srv_.options.limits;
  const std::size_t limit = stage_ == stage::ready ? limits.frame_bytes : limits.preauth_frame_bytes;
  asio::async_read_until(sock_, asio::dynamic_buffer(in_, limit + 1), '\n',
                         [self = shared_from_this(), limit](const boost::system::error_code& ec, std::size_t n) {
                           if (self->stage_ == stage::closed) return;
                           if (ec == asio::error::not_found) {
                             return self->fail_and_close(nullptr,
                                                         fmt::format("frame longer than {} bytes", limit));
                           }
                           if (ec) return self->close();  // end of stream, reset, or closed by us
                           std::string line = self->in_.substr(0, n - 1);
                           self->in_.erase(0, n);
                           self->on_line(std::move(line));
                           self->read();
                         });
}

void session::on_line(std::string line) {
  if (!line.empty() && line.back() == '\r') line.pop_back();
  arm_idle();
  json req = json::parse(line, nullptr, false);
  if (req.is_discarded() || !req.is_object()) {
    const std::string why = req.is_discarded() ? "malformed JSON" : "a request must be a JSON object";
    return stage_ == stage::ready ? fail(nullptr, why) : fail_and_close(nullptr, why);
  }
  json id = req.contains("id") ? req["id"] : json();
  if (!req.contains("op") || !req["op"].is_string()) {
    const std::string why = "missing \"op\"";
    return stage_ == stage::ready ? fail(id, why) : fail_and_close(id, why);
  }
  dispatch(req, id, req["op"].get<std::string>());
}

void session::dispatch(const json& req, const json& id, const std::string& op) {
  try {
    if (stage_ == stage::hello) {
      if (op != "hello") return fail_and_close(id, "the first request must be hello");
      return hello(req, id);
    }
    if (stage_ == stage::auth) {
      if (op != "auth") return fail_and_close(id, "authenticate first: only auth is accepted now");
      return auth(req, id);
    }
    const op_rule* rule = nullptr;
    for (auto& r : ops)
      if (r.op == op) rule = &r;
    if (!rule) return fail(id, fmt::format("unknown op '{}'", op.substr(0, 64)));
    if (role_ < rule->needs) {
      srv_.audit(fmt::format("denied {} to {} ({} role)", op, peer_, role_name(role_)));
      return fail(id, fmt::format("permission denied: {} needs the admin role (this session is {})", op,
                                  role_name(role_)));
    }
    if (op == "system_info") return system_info(id);
    if (op == "top") return top(req, id);
    if (op == "process_info") return process_info(req, id);
    if (op == "alarms" || op == "ack_alarm" || op == "set_alarm" || op == "clear_alarm" || op == "override_valve" ||
        op == "reload_rules")
      return alarm_request(req, id, op);
    return admin(req, id, op);
  } catch (const json::exception& e) {  // a field of the wrong type
    return stage_ == stage::ready ? fail(id, fmt::format("bad request: {}", e.what()))
                                  : fail_and_close(id, fmt::format("bad request: {}", e.what()));
  }
}

void session::hello(const json& req, const json& id) {
  int chosen = 0;
  if (req.contains("versions") && req["versions"].is_array())
    for (auto& v : req["versions"])
      if (v.is_number_integer() && v.get<int>() == protocol_version) chosen = protocol_version;
  if (!chosen)
    return fail_and_close(id, fmt::format("no common protocol version (this node speaks {})", protocol_version));
  version_ = chosen;
  if (req.contains("role")) {
    const auto r = req["role"].get<std::string>();
    if (r == "viewer") {
      asked_ = role::viewer;
    } else if (r != "admin") {
      return fail_and_close(id, "role must be viewer or admin");
    }
  }
  json body{{"version", version_}, {"node", srv_.options.node_name}, {"auth", tcp_ ? "hmac" : "peer_uid"}};
  if (!tcp_) {
    body["role"] = role_name(asked_);
    reply(id, std::move(body));
    return authenticated(asked_);
  }
  client_nonce_ = req.value("nonce", std::string());
  if (client_nonce_.size() != 64) return fail_and_close(id, "hello over TCP needs a 64-hex-digit nonce");
  server_nonce_ = detail::random_hex(32);
  body["nonce"] = server_nonce_;
  stage_ = stage::auth;
  reply(id, std::move(body));
}

void session::auth(const json& req, const json& id) {
  if (long wait = srv_.locked_out(peer_))
    return fail_and_close(id, fmt::format("too many authentication failures from {}; retry in {} s", peer_, wait));
  const std::string asked = req.value("role", std::string("admin"));
  const std::string& key = asked == "viewer" ? srv_.viewer_key : srv_.admin_key;
  const std::string given = req.value("proof", std::string());
  const std::string expected =
      key.empty() ? std::string()
                  : detail::proof(key, "agner-client", client_nonce_, server_nonce_, srv_.options.node_name, version_);
  if (key.empty() || !detail::same_secret(given, expected)) {
    srv_.note_failure(peer_);
    srv_.audit(fmt::format("authentication failed for {} ({} role)", peer_, asked));
    return fail_and_close(id, "authentication failed");
  }
  const role r = asked == "viewer" ? role::viewer : role::admin;
  reply(id, {{"role", role_name(r)},
             {"proof", detail::proof(key, "agner-server", client_nonce_, server_nonce_, srv_.options.node_name, version_)}});
  authenticated(r);
}

void session::authenticated(role r) {
  role_ = r;
  stage_ = stage::ready;
  handshake_timer_.cancel();
  --srv_.unauthenticated;
  counted_unauthenticated_ = false;
}

void session::system_info(const json& id) {
  node_info info = introspect::system_info(srv_.rt, srv_.started);
  info.name = srv_.options.node_name;
  if (srv_.options.alarms) {
    info.alarms = srv_.options.alarms->active();
    info.valves = srv_.options.alarms->valves();
  }
  reply(id, {{"node", to_json(info)}});
}

void session::top(const json& req, const json& id) {
  const std::string sort = req.value("sort", std::string("msgq"));
  const auto n = req.value("n", std::int64_t{20});
  const auto max = static_cast<std::int64_t>(srv_.options.limits.max_top_rows);
  if (n < 1 || n > max) return fail(id, fmt::format("n must be between 1 and {}", max));
  name_filter filter{req.value("filter", std::string())};
  if (filter.text.size() > 256) return fail(id, "filter must be at most 256 characters");
  std::vector<process_row> rows;
  if (sort == "reductions_window") {
    if (!window_) {
      if (srv_.windowed >= srv_.options.limits.max_windowed_sessions)
        return fail(id, fmt::format("too many sessions keep a reductions window (limit {})",
                                    srv_.options.limits.max_windowed_sessions));
      window_ = std::make_unique<reductions_window>();
      ++srv_.windowed;
    }
    rows = window_->top(srv_.rt, static_cast<std::size_t>(n), filter);
  } else if (auto key = parse_sort_key(sort)) {
    rows = introspect::top(srv_.rt, *key, static_cast<std::size_t>(n), filter);
  } else {
    return fail(id, fmt::format("unknown sort '{}' (msgq, reductions, reductions_window, received, memory, gc, age)",
                                sort.substr(0, 64)));
  }
  json out = json::array();
  for (auto& r : rows) out.push_back(to_json(r));
  reply(id, {{"processes", std::move(out)}});
}

std::optional<pid> session::target(const json& req, const json& id) {
  std::string who = req.contains("pid") ? req["pid"].get<std::string>() : req.value("name", std::string());
  if (who.empty()) {
    fail(id, "give \"pid\" (like \"<0.5.1>\") or \"name\"");
    return std::nullopt;
  }
  auto p = resolve(srv_.rt, who);
  if (!p) fail(id, fmt::format("no such process: {}", who.substr(0, 128)));
  return p;
}

void session::process_info(const json& req, const json& id) {
  auto p = target(req, id);
  if (!p) return;
  inspect_options o;
  o.max_messages = static_cast<std::size_t>(std::clamp<std::int64_t>(req.value("messages", 10), 0, 100));
  o.max_bytes = static_cast<std::size_t>(std::clamp<std::int64_t>(req.value("bytes", 4096), 0, 65536));
  o.contents = role_ == role::admin;  // payloads may hold user data
  const auto asked = std::chrono::milliseconds(req.value("deadline_ms", 500));
  const auto deadline = std::clamp(asked, std::chrono::milliseconds(1), srv_.options.limits.max_deadline);
  auto gate = srv_.gate;
  std::weak_ptr<session> weak = shared_from_this();
  auto after = [this](std::chrono::milliseconds d, std::function<void()> f) {
    auto t = std::make_shared<asio::steady_timer>(srv_.io, d);
    t->async_wait([t, f = std::move(f)](const boost::system::error_code&) { f(); });
  };
  introspect::process_info(srv_.rt, *p, o, deadline, after,
                           [gate, weak, id, who = *p](std::optional<process_details> d) {
                             gate->post([weak, id, who, d = std::move(d)] {
                               auto self = weak.lock();
                               if (!self) return;
                               if (!d) return self->fail(id, fmt::format("no such process: {}", who));
                               self->reply(id, {{"process", to_json(*d)}});
                             });
                           });
}

void session::admin(const json& req, const json& id, const std::string& op) {
  auto p = target(req, id);
  if (!p) return;
  bool alive = false;
  std::string detail;
  if (op == "kill") {
    std::string reason = req.value("reason", std::string("kill"));
    if (reason.empty() || reason.size() > 256) return fail(id, "reason must be 1 to 256 characters");
    alive = srv_.rt.process_info(*p).has_value();
    if (alive) srv_.rt.exit(*p, reason);
    detail = fmt::format(" reason={}", reason);
  } else if (op == "garbage_collect") {
    alive = srv_.rt.garbage_collect(*p);
  } else if (op == "suspend") {
    alive = srv_.rt.suspend(*p);
  } else {
    alive = srv_.rt.resume(*p);
  }
  if (!alive) return fail(id, fmt::format("no such process: {}", *p));
  srv_.audit(fmt::format("{} by {}: {} {}{}", op, peer_, op, *p, detail));
  reply(id, {{"pid", fmt::format("{}", *p)}});
}

void session::alarm_request(const json& req, const json& id, const std::string& op) {
  alarm_control* a = srv_.options.alarms;
  if (!a) return fail(id, "this node has no alarms");
  if (op == "alarms") {
    const auto last = static_cast<std::size_t>(std::clamp<std::int64_t>(req.value("history", 50), 0, 1000));
    json active = json::array(), history = json::array(), valves = json::array();
    for (auto& r : a->active()) active.push_back(to_json(r));
    for (auto& e : a->history(last))
      history.push_back({{"at_ms", e.at_ms}, {"alarm", e.alarm}, {"source", e.source}, {"from", e.from}, {"to", e.to}, {"value", e.value}});
    for (auto& v : a->valves()) valves.push_back(to_json(v));
    return reply(id, {{"active", std::move(active)}, {"history", std::move(history)}, {"valves", std::move(valves)}});
  }
  if (op == "reload_rules") {
    auto errors = a->reload();
    srv_.audit(fmt::format("reload_rules by {}: {}", peer_, errors.empty() ? "ok" : "failed, old rules kept"));
    if (!errors.empty()) return reply(id, {{"reloaded", false}, {"errors", errors}});
    return reply(id, {{"reloaded", true}});
  }
  const bool valve = op == "override_valve";
  const std::string target = req.value(valve ? "valve" : "alarm", std::string());
  if (target.empty() || target.size() > 64)
    return fail(id, fmt::format("give \"{}\": the {} id (1-64 characters)", valve ? "valve" : "alarm", valve ? "valve's" : "alarm's"));
  bool ok = true;
  std::string detail;
  if (op == "ack_alarm") {
    ok = a->acknowledge(target);
  } else if (op == "set_alarm") {
    try {
      a->set(target, req.value("severity", std::string("warning")), req.value("description", std::string()).substr(0, 256));
    } catch (const std::invalid_argument& e) {
      return fail(id, e.what());
    }
  } else if (op == "clear_alarm") {
    ok = a->clear(target);
  } else {  // override_valve
    const std::string mode = req.value("mode", std::string());
    if (mode != "open" && mode != "closed" && mode != "automatic") return fail(id, "mode must be open, closed or automatic");
    const auto for_ms = req.value("for_ms", std::int64_t{600000});
    if (for_ms < 1 || for_ms > 86'400'000) return fail(id, "for_ms must be between 1 and 86400000 (a day): an override must expire");
    ok = a->override_valve(target, mode, for_ms);
    detail = fmt::format(" {} for {} ms", mode, for_ms);
  }
  if (!ok) return fail(id, fmt::format("no such {}: {}", op == "override_valve" ? "valve" : "active alarm", target));
  srv_.audit(fmt::format("{} by {}: {}{}", op, peer_, target, detail));
  reply(id, {{"target", target}});
}

void session::reply(const json& id, json body) {
  body["id"] = id;
  body["ok"] = true;
  send(body);
}

void session::fail(const json& id, const std::string& error) {
  send({{"id", id}, {"ok", false}, {"error", error}});
}

void session::fail_and_close(const json& id, const std::string& error) {
  fail(id, error);
  stage_ = stage::closed;
  handshake_timer_.cancel();
  idle_timer_.cancel();
  // The socket closes once the error line is written (or at once if nothing can be written).
  if (!writing_) close();
}

void session::send(const json& j) {
  if (!sock_.is_open()) return;
  std::string line = j.dump(-1, ' ', false, json::error_handler_t::replace);
  line.push_back('\n');
  if (out_bytes_ + line.size() > srv_.options.limits.output_bytes) {
    srv_.audit(fmt::format("closed {}: it does not read its replies ({} bytes waiting)", peer_, out_bytes_));
    stage_ = stage::closed;
    return close();
  }
  out_bytes_ += line.size();
  out_.push_back(std::move(line));
  if (!writing_) write_next();
}

void session::write_next() {
  if (out_.empty()) {
    writing_ = false;
    if (stage_ == stage::closed) close();
    return;
  }
  writing_ = true;
  asio::async_write(sock_, asio::buffer(out_.front()),
                    [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                      if (ec) {
                        self->writing_ = false;
                        return self->close();
                      }
                      self->out_bytes_ -= self->out_.front().size();
                      self->out_.pop_front();
                      self->write_next();
                    });
}

void session::close() {
  stage_ = stage::closed;
  handshake_timer_.cancel();
  idle_timer_.cancel();
  boost::system::error_code ignored;
  sock_.shutdown(socket::shutdown_both, ignored);
  sock_.close(ignored);
}

void session::arm_idle() {
  idle_timer_.expires_after(srv_.options.limits.idle_timeout);
  idle_timer_.async_wait([weak = std::weak_ptr<session>(shared_from_this())](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (!ec && self && self->stage_ != stage::closed) self->fail_and_close(nullptr, "idle timeout");
  });
}

}  // namespace agner::introspect
