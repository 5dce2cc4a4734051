// An attach session (docs/protocol.md): hello, auth for TCP, then requests checked against the
// session's role. Every buffer an outsider can grow is bounded; bad input gets an error line with a
// code, and before authentication the connection is closed as well.
#include "session.hpp"

#include <optional>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "agner/snapshot/json.hpp"
#include "agner/attach/auth.hpp"
#include "agner/snapshot/visible_text.hpp"
#include "fields.hpp"

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
    {"reload_rules", role::admin}, {"supervision_tree", role::viewer},
    {"trace_start", role::admin}, {"trace_stop", role::admin},
    {"groups", role::viewer}, {"warnings", role::viewer},
};

/// A SAX pass that finds the first key an object repeats ("kill" twice with two pids: nlohmann would
/// keep the last silently, and what the node did would depend on which one a proxy or log showed).
/// Linear in the frame; nlohmann's parser callback would rescan the parent array at every object end.
class first_duplicate_key final : public nlohmann::json_sax<nlohmann::json> {
 public:
  std::optional<std::string> found;
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override {
    keys_.emplace_back();
    return true;
  }
  bool key(string_t& k) override {
    if (!keys_.back().insert(k).second) found = k;
    return !found;  // stop at the first
  }
  bool end_object() override {
    keys_.pop_back();
    return true;
  }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

 private:
  std::vector<std::set<std::string>> keys_;
};

role role_field(const nlohmann::json& req) {
  auto it = req.find("role");
  if (it == req.end() || *it == "admin") return role::admin;
  if (*it == "viewer") return role::viewer;
  throw request_error{codes::bad_request, "role must be viewer or admin"};
}

bool is_hex(const std::string& s) { return s.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos; }

}  // namespace

session::session(server::impl& srv, socket sock, bool tcp, std::string peer)
    : srv_(srv),
      sock_(std::move(sock)),
      tcp_(tcp),
      peer_(std::move(peer)),
      handshake_timer_(srv.io),
      idle_timer_(srv.io) {
  ++srv_.session_count;
  registered_ = srv_.sessions.insert(srv_.sessions.end(), this);
}

session::~session() {
  if (lingering_) --srv_.lingering;
  --srv_.session_count;
  srv_.sessions.erase(registered_);
  if (window_ || group_window_) --srv_.windowed;
  end_traces();
}

void session::start() {
  handshake_timer_.expires_after(srv_.options.limits.handshake_timeout);
  handshake_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec && self->stage_ != stage::ready && self->stage_ != stage::closed)
      self->fail_and_close(nullptr, codes::timeout, "handshake deadline passed");
  });
  read();
}

void session::evict(const std::string& why) {
  if (stage_ != stage::closed) fail_and_close(nullptr, codes::busy, why);
}

void session::answer_failed_proof_now() {
  if (stage_ != stage::closed && proof_failed_)
    fail_and_close(failed_proof_id_, codes::unauthenticated, "authentication failed");
}

bool session::unread_input() const noexcept {
  boost::system::error_code ec;
  const std::size_t n = sock_.available(ec);
  return !ec && n > 0;
}

void session::read() {
  if (stage_ == stage::closed) return;
  const auto& limits = srv_.options.limits;
  const std::size_t limit = stage_ == stage::ready ? limits.frame_bytes : limits.preauth_frame_bytes;
  reading_ = true;
  asio::async_read_until(sock_, asio::dynamic_buffer(in_, limit + 1), '\n',
                         [self = shared_from_this(), limit](const boost::system::error_code& ec, std::size_t n) {
                           self->reading_ = false;
                           if (self->stage_ == stage::closed) {
                             if (self->lingering_ && self->sock_.is_open()) self->discard();
                             return;
                           }
                           if (ec == asio::error::not_found) {
                             self->drain_on_close_ = true;  // the rest of that frame is surely on its way
                             return self->fail_and_close(nullptr, codes::too_large,
                                                         fmt::format("frame longer than {} bytes", limit));
                           }
                           if (ec) return self->close();  // end of stream, reset, or closed by us
                           std::string line = self->in_.substr(0, n - 1);
                           self->in_.erase(0, n);
                           const stage before = self->stage_;
                           self->on_line(std::move(line));
                           // A wrong proof is answered later (auth): read nothing more meanwhile.
                           if (!(before == stage::auth && self->stage_ == stage::auth)) self->read();
                         });
}

void session::on_line(std::string line) {
  if (!line.empty() && line.back() == '\r') line.pop_back();
  last_request_ = clock::now();
  arm_idle();
  const auto refuse = [this](const json& id, const std::string& why) {
    return stage_ == stage::ready ? fail(id, codes::bad_request, why) : fail_and_close(id, codes::bad_request, why);
  };
  // Depth first: a parsed value is recursive, and a deep one would cost stack to copy or free.
  if (nested_deeper_than(line, max_json_depth))
    return refuse(nullptr, fmt::format("the request nests deeper than {} levels", max_json_depth));
  json req = json::parse(line, nullptr, false);
  if (req.is_discarded()) return refuse(nullptr, "malformed JSON");
  first_duplicate_key duplicate;
  json::sax_parse(line, &duplicate);
  if (duplicate.found)
    return refuse(req.is_object() && req.contains("id") ? req["id"] : json(),
                  fmt::format("duplicate key \"{}\": each key may appear once in an object",
                              log_escape(*duplicate.found, 64)));
  if (!req.is_object()) return refuse(nullptr, "a request must be a JSON object");
  json id = req.contains("id") ? req["id"] : json();
  if (!req.contains("op")) return refuse(id, "missing \"op\"");
  if (!req["op"].is_string()) return refuse(id, "op must be a string");
  dispatch(req, id, req["op"].get<std::string>());
}

void session::dispatch(const json& req, const json& id, const std::string& op) {
  try {
    if (stage_ == stage::hello) {
      if (op != "hello")
        return fail_and_close(id, codes::unauthenticated, "the first request must be hello");
      return hello(req, id);
    }
    if (stage_ == stage::auth) {
      if (op != "auth")
        return fail_and_close(id, codes::unauthenticated, "authenticate first: only auth is accepted now");
      return auth(req, id);
    }
    const op_rule* rule = nullptr;
    for (auto& r : ops)
      if (r.op == op) rule = &r;
    if (!rule) return fail(id, codes::unknown_op, fmt::format("unknown op '{}'", op.substr(0, 64)));
    if (role_ < rule->needs) {
      srv_.audit(fmt::format("denied {} to {} ({} role)", op, peer_, role_name(role_)));
      return fail(id, codes::forbidden, fmt::format("permission denied: {} needs the admin role (this session is {})",
                                                    op, role_name(role_)));
    }
    if (op == "system_info") return system_info(id);
    if (op == "top") return top(req, id);
    if (op == "groups") return groups(req, id);
    if (op == "process_info") return process_info(req, id);
    if (op == "supervision_tree") return tree(req, id);
    if (op == "trace_start") return trace_start(req, id);
    if (op == "trace_stop") return trace_stop(req, id);
    if (op == "warnings") return warnings(req, id);
    if (op == "alarms" || op == "ack_alarm" || op == "set_alarm" || op == "clear_alarm" || op == "override_valve" ||
        op == "reload_rules")
      return alarm_request(req, id, op);
    return admin(req, id, op);
  } catch (const request_error& e) {
    if (stage_ == stage::ready && !e.exit_reason.empty())
      return send({{"id", id}, {"ok", false}, {"code", e.code}, {"error", e.message}, {"exit_reason", e.exit_reason}});
    return stage_ == stage::ready ? fail(id, e.code.c_str(), e.message) : fail_and_close(id, e.code.c_str(), e.message);
  } catch (const json::exception&) {  // a field reader missed a case: say so without the library's text
    return stage_ == stage::ready ? fail(id, codes::bad_request, fmt::format("bad request: a field of {} has the wrong type", op.substr(0, 64)))
                                  : fail_and_close(id, codes::bad_request, "bad request: a field has the wrong type");
  }
}

void session::hello(const json& req, const json& id) {
  auto versions = req.find("versions");
  if (versions == req.end() || !versions->is_array() || versions->empty() || versions->size() > 16)
    throw request_error{codes::bad_request, "versions must be an array of 1 to 16 protocol versions, like [1]"};
  int chosen = 0;
  for (auto& v : *versions) {
    if (!v.is_number_integer()) throw request_error{codes::bad_request, "versions must hold integers, like [1]"};
    if (v.get<std::int64_t>() == protocol_version) chosen = protocol_version;
  }
  if (!chosen)
    return fail_and_close(id, codes::version,
                          fmt::format("no common protocol version (this node speaks {})", protocol_version));
  version_ = chosen;
  asked_ = role_field(req);
  json body{{"version", version_}, {"node", srv_.options.node_name}, {"auth", tcp_ ? "hmac" : "peer_uid"}};
  if (!tcp_) {
    // The kernel vouched for this peer (its uid is ours): it may always get in.
    srv_.make_room_for_session(this, true);
    body["role"] = role_name(asked_);
    reply(id, std::move(body));
    return authenticated(asked_);
  }
  client_nonce_ = fields::text(req, "nonce", 0, 64, "");
  if (client_nonce_.size() != 64 || !is_hex(client_nonce_))
    throw request_error{codes::bad_request, "nonce must be 64 hex digits (hello over TCP needs one)"};
  server_nonce_ = detail::random_hex(32);
  body["nonce"] = server_nonce_;
  stage_ = stage::auth;
  reply(id, std::move(body));
}

void session::auth(const json& req, const json& id) {
  const role asked = role_field(req);
  const std::string& key = asked == role::viewer ? srv_.viewer_key : srv_.admin_key;
  const std::string given = fields::text(req, "proof", 0, 128, "");
  const std::string expected =
      key.empty() ? std::string()
                  : detail::proof(key, "agner-client", client_nonce_, server_nonce_, srv_.options.node_name, version_);
  if (key.empty() || !detail::same_secret(given, expected)) {
    ++srv_.failures;
    proof_failed_ = true;
    failed_proof_id_ = id;
    srv_.connection_error(fmt::format("authentication failed for {} ({} role)", peer_, role_name(asked)));
    srv_.bound_failed_proofs();  // it leaves the handshake slots; the waiting failed provers are bounded apart
    // Slow this connection down, and only this one: nobody else waits, and a right proof on
    // another connection is never refused.
    auto delay = std::make_shared<asio::steady_timer>(srv_.io, srv_.options.limits.auth_failure_delay);
    delay->async_wait([self = shared_from_this(), delay, id](const boost::system::error_code&) {
      if (self->stage_ != stage::closed) self->fail_and_close(id, codes::unauthenticated, "authentication failed");
    });
    return;
  }
  if (!srv_.make_room_for_session(this, asked == role::admin))
    return fail_and_close(id, codes::busy,
                          fmt::format("too many sessions ({}); a viewer gets in when one closes, an admin always does",
                                      srv_.options.limits.max_sessions));
  reply(id, {{"role", role_name(asked)},
             {"proof", detail::proof(key, "agner-server", client_nonce_, server_nonce_, srv_.options.node_name, version_)}});
  authenticated(asked);
}

void session::authenticated(role r) {
  role_ = r;
  stage_ = stage::ready;
  handshake_timer_.cancel();
}

void session::reply(const json& id, json body) {
  body["id"] = id;
  body["ok"] = true;
  send(body);
}

void session::fail(const json& id, const char* code, const std::string& error) {
  // An error may echo what the client sent (a name, an op, a sort key): shown visibly, so that the
  // decoded sentence (`jq -r .error`) holds no control byte, as the node's other text (visible_text).
  send({{"id", id}, {"ok", false}, {"code", code}, {"error", visible_text(error)}});
}

void session::fail_noproc(const json& id, pid p) {
  // A process that ended lately is named with its exit reason, as etop shows a dead inspected one.
  if (auto reason = srv_.rt.exit_reason(p))
    return send({{"id", id}, {"ok", false}, {"code", codes::noproc},
                 {"error", visible_text(fmt::format("process {} exited: {}", p, *reason))}, {"exit_reason", *reason}});
  fail(id, codes::noproc, fmt::format("no such process: {}", p));
}

void session::fail_and_close(const json& id, const char* code, const std::string& error) {
  if (stage_ != stage::ready)
    srv_.connection_error(fmt::format("closed {} in its handshake: {}", peer_, log_escape(error)));
  fail(id, code, error);
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
    srv_.connection_error(fmt::format("closed {}: it does not read its replies ({} bytes waiting)", peer_, out_bytes_));
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
    if (stage_ == stage::closed) linger();
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
  if (lingering_) {
    lingering_ = false;
    --srv_.lingering;
  }
  end_traces();
  handshake_timer_.cancel();
  idle_timer_.cancel();
  boost::system::error_code ignored;
  sock_.shutdown(socket::shutdown_both, ignored);
  sock_.close(ignored);
}

void session::linger() {
  if (lingering_ || !sock_.is_open()) return;
  // Only for input that would be left unread, and for a bounded number at once: an evicted idle
  // stranger closes at once, so floods of connections cannot pile up lingering descriptors.
  if (!(drain_on_close_ || unread_input()) || srv_.lingering >= max_lingering) return close();
  lingering_ = true;
  ++srv_.lingering;
  boost::system::error_code ec;
  sock_.shutdown(socket::shutdown_send, ec);
  if (ec) return close();
  handshake_timer_.expires_after(linger_time);
  handshake_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& e) {
    if (!e) self->close();
  });
  if (!reading_) discard();
}

void session::discard() {
  reading_ = true;
  sock_.async_read_some(asio::buffer(srv_.dropped), [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
    self->reading_ = false;
    if (ec || !self->sock_.is_open()) return self->close();  // the client's FIN, a reset, or the linger's end
    self->discard();
  });
}

void session::arm_idle() {
  idle_timer_.expires_after(srv_.options.limits.idle_timeout);
  idle_timer_.async_wait([weak = std::weak_ptr<session>(shared_from_this())](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (!ec && self && self->stage_ != stage::closed && !self->traces_.empty()) return self->arm_idle();  // it reads a trace
    if (!ec && self && self->stage_ != stage::closed) self->fail_and_close(nullptr, codes::timeout, "idle timeout");
  });
}

}  // namespace agner::introspect
