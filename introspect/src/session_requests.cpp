// The requests of an authenticated session (docs/protocol.md, "Requests"). Every field is read
// through fields:: and refused, naming the field and its range, when it is out of it.
#include <fmt/format.h>

#include "agner/snapshot/json.hpp"
#include "fields.hpp"
#include "session.hpp"

namespace agner::introspect {

void session::system_info(const json& id) {
  node_info info = introspect::system_info(srv_.rt);
  info.name = srv_.options.node_name;
  if (srv_.options.alarms) {
    info.alarms = srv_.options.alarms->active();
    info.valves = srv_.options.alarms->valves();
  }
  reply(id, {{"node", to_json(info)}});
}

void session::top(const json& req, const json& id) {
  const std::string sort = fields::text(req, "sort", 1, 64, "msgq");
  const auto n = fields::integer(req, "n", 1, static_cast<std::int64_t>(srv_.options.limits.max_top_rows), 20);
  name_filter filter{fields::text(req, "filter", 0, 256, "")};
  filter.group = fields::text(req, "group", 0, 256, "");
  std::vector<process_row> rows;
  if (sort == "reductions_window") {
    if (!window_) {
      if (!group_window_ && srv_.windowed >= srv_.options.limits.max_windowed_sessions)
        return fail(id, codes::busy, fmt::format("too many sessions keep a reductions window (limit {})",
                                                 srv_.options.limits.max_windowed_sessions));
      if (!group_window_) ++srv_.windowed;
      window_ = std::make_unique<reductions_window>();
    }
    rows = window_->top(srv_.rt, static_cast<std::size_t>(n), filter);
  } else if (auto key = parse_sort_key(sort)) {
    rows = introspect::top(srv_.rt, *key, static_cast<std::size_t>(n), filter);
  } else {
    return fail(id, codes::bad_request,
                fmt::format("unknown sort '{}' (msgq, reductions, reductions_window, received, memory, gc, age)", sort));
  }
  json out = json::array();
  for (auto& r : rows) out.push_back(to_json(r));
  reply(id, {{"processes", std::move(out)}});
}

pid session::target(const json& req) {
  if (fields::has(req, "pid")) {
    const std::string text = fields::text(req, "pid", 1, 64, "");
    auto p = parse_pid(text);
    if (!p) throw request_error{codes::bad_request, "pid must look like <0.I.S>, for example <0.5.1>"};
    if (!resolve(srv_.rt, text)) {
      if (auto reason = srv_.rt.exit_reason(*p))
        throw request_error{codes::noproc, fmt::format("process {} exited: {}", *p, *reason), *reason};
      throw request_error{codes::noproc, fmt::format("no such process: {}", *p)};
    }
    return *p;
  }
  const std::string name = fields::text(req, "name", 1, 256, "");
  if (name.empty()) throw request_error{codes::bad_request, "give \"pid\" (like \"<0.5.1>\") or \"name\""};
  auto p = resolve(srv_.rt, name);
  if (!p) throw request_error{codes::noproc, fmt::format("no such process: {}", name)};
  return *p;
}

void session::process_info(const json& req, const json& id) {
  inspect_options o;
  o.max_messages = static_cast<std::size_t>(fields::integer(req, "messages", 0, 100, 10));
  o.max_bytes = static_cast<std::size_t>(fields::integer(req, "bytes", 0, 65536, 4096));
  o.contents = role_ == role::admin;  // payloads may hold user data
  const auto deadline =
      std::chrono::milliseconds(fields::integer(req, "deadline_ms", 1, srv_.options.limits.max_deadline.count(), 500));
  const pid p = target(req);
  auto gate = srv_.gate;
  std::weak_ptr<session> weak = shared_from_this();
  auto after = [this](std::chrono::milliseconds d, std::function<void()> f) {
    auto t = std::make_shared<asio::steady_timer>(srv_.io, d);
    t->async_wait([t, f = std::move(f)](const boost::system::error_code&) { f(); });
  };
  introspect::process_info(srv_.rt, p, o, deadline, after,
                           [gate, weak, id, who = p](std::optional<process_details> d) {
                             gate->post([weak, id, who, d = std::move(d)] {
                               auto self = weak.lock();
                               if (!self) return;
                               if (!d) return self->fail_noproc(id, who);
                               self->reply(id, {{"process", to_json(*d)}});
                             });
                           });
}

void session::admin(const json& req, const json& id, const std::string& op) {
  const std::string reason = op == "kill" ? fields::one_line(req, "reason", 1, 256, "kill") : std::string();
  const pid p = target(req);
  bool alive = false;
  std::string detail;
  if (op == "kill") {
    alive = srv_.rt.process_info(p).has_value();
    if (alive) srv_.rt.exit(p, reason);
    detail = fmt::format(" reason={}", log_escape(reason, 256));
  } else if (op == "garbage_collect") {
    alive = srv_.rt.garbage_collect(p);
  } else if (op == "suspend") {
    alive = srv_.rt.suspend(p);
  } else {
    alive = srv_.rt.resume(p);
  }
  if (!alive) return fail_noproc(id, p);
  srv_.audit(fmt::format("{} by {}: {} {}{}", op, peer_, op, p, detail));
  reply(id, {{"pid", fmt::format("{}", p)}});
}

void session::alarm_request(const json& req, const json& id, const std::string& op) {
  alarm_control* a = srv_.options.alarms;
  if (!a) return fail(id, codes::unavailable, "this node has no alarms");
  if (op == "alarms") {
    const auto last = static_cast<std::size_t>(fields::integer(req, "history", 0, 1000, 50));
    json active = json::array(), history = json::array(), valves = json::array();
    for (auto& r : a->active()) active.push_back(to_json(r));
    for (auto& e : a->history(last))
      history.push_back(to_json(e));
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
  const char* field = valve ? "valve" : "alarm";
  const std::string target = fields::one_line(req, field, 1, 64, "");
  if (target.empty())
    return fail(id, codes::bad_request, fmt::format("give \"{}\": the {} id (1-64 characters)", field, field));
  bool ok = true;
  std::string detail;
  if (op == "ack_alarm") {
    ok = a->acknowledge(target);
  } else if (op == "set_alarm") {
    const std::string severity = fields::one_line(req, "severity", 1, 16, "warning");
    const std::string description = fields::one_line(req, "description", 0, 256, "");
    try {
      a->set(target, severity, description);
    } catch (const std::invalid_argument& e) {
      return fail(id, codes::bad_request, e.what());
    }
  } else if (op == "clear_alarm") {
    ok = a->clear(target);
  } else {  // override_valve
    const std::string mode = fields::text(req, "mode", 0, 16, "");
    if (mode != "open" && mode != "closed" && mode != "automatic")
      return fail(id, codes::bad_request, "mode must be open, closed or automatic");
    std::int64_t for_ms = 0;
    try {
      for_ms = fields::integer(req, "for_ms", 1, 86'400'000, 600'000);
    } catch (request_error& e) {
      e.message += " (a day): an override must expire";
      throw;
    }
    ok = a->override_valve(target, mode, for_ms);
    detail = fmt::format(" {} for {} ms", mode, for_ms);
  }
  if (!ok)
    return fail(id, codes::not_found, fmt::format("no such {}: {}", valve ? "valve" : "active alarm", target));
  srv_.audit(fmt::format("{} by {}: {}{}", op, peer_, log_escape(target), detail));
  reply(id, {{"target", target}});
}

}  // namespace agner::introspect
