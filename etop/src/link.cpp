#include "link.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "agner/etop/groups_view.hpp"
#include "agner/snapshot/json.hpp"

namespace agner::etop {
namespace {

/// Runs a client call, turning a reply etop cannot decode (a missing field, a wrong type) into the
/// client's own error, so it is handled like any failed request instead of escaping as a library
/// exception.
template <class F>
auto decoded(F&& call) {
  try {
    return call();
  } catch (const nlohmann::json::exception& e) {
    throw introspect::client_error("bad_reply", fmt::format("the node sent a reply etop cannot read ({})", e.what()));
  }
}

bool credentials_refused(const std::string& why) {
  return why.starts_with("cookie file") || why.find("authentication failed") != std::string::npos ||
         why.find("too many authentication failures") != std::string::npos ||
         why.find("did not prove it knows the key") != std::string::npos || why.starts_with("role must be") ||
         why.starts_with("no common protocol version") || why.starts_with("permission denied");
}

/// The node's warnings; none from a node that does not know the op (older) or cannot answer now
/// (a lost link shows at the next refresh's first request).
std::vector<introspect::warning_row> warnings_of(introspect::client& c) {
  std::vector<introspect::warning_row> out;
  try {
    auto reply = c.call({{"op", "warnings"}});
    for (auto& w : reply.at("warnings")) out.push_back(introspect::warning_row_from_json(w));
  } catch (const std::exception&) {  // client_error or a reply that cannot be read: no warnings shown
    out.clear();
  }
  return out;
}

}  // namespace

void node_link::refused_credentials(const std::string& why) const {
  const std::string where = target_.host.empty() ? target_.display : fmt::format("{}:{}", target_.host, target_.port);
  if (target_.host.empty())
    throw fatal_error(fmt::format("{} refused the {} role: {}", where, target_.role, why));
  if (why.find("authentication failed") != std::string::npos)
    throw fatal_error(fmt::format(
        "{} refused the {} role with the key in {}: the key is wrong, or it is the key of another role "
        "(a viewer key attaches only with --role viewer); retrying with the same key cannot help, so etop stops",
        where, target_.role, target_.cookie_file));
  throw fatal_error(fmt::format("{}: cannot attach as {} with the key in {}: {}", where, target_.role,
                                target_.cookie_file, why));
}

bool node_link::ensure(double now_s) {
  if (client_) return true;
  if (now_s < next_try_) return false;
  try {
    client_.emplace(decoded([&] {
      return target_.host.empty()
                 ? introspect::client::attach_unix(target_.unix_path, target_.role, target_.reply_within)
                 : introspect::client::attach_tcp(target_.host, target_.port, target_.cookie_file, target_.role,
                                                  target_.reply_within);
    }));
    window_held_ = group_window_held_ = false;
    problem_.clear();
    backoff_ = 1;
    return true;
  } catch (const std::exception& e) {
    if (credentials_refused(e.what())) refused_credentials(e.what());
    lost(e.what(), now_s);
    return false;
  }
}

void node_link::lost(const std::string& why, double now_s) {
  client_.reset();
  window_held_ = group_window_held_ = false;
  problem_ = why;
  next_try_ = now_s + backoff_;
  backoff_ = std::min(backoff_ * 2, 30.0);  // 1, 2, 4, ... 30 s
}

std::optional<sample> node_link::fetch(const view_state& v, std::size_t n, double now_s, std::string& refused) {
  // Columns the node cannot rank are sorted here, among the top rows by queue length.
  const auto& col = column_of(v.sort);
  const std::string sort = col.server_sort.empty() ? "msgq" : std::string(col.server_sort);
  const bool windowed = sort == "reductions_window";
  const bool grouped = v.current == screen::groups || !v.groups.drilled.empty();
  if ((!windowed && window_held_ && !grouped) || (!grouped && group_window_held_)) {
    client_.reset();  // the node frees a session's reductions windows when the session ends
    window_held_ = group_window_held_ = false;
  }
  if (!ensure(now_s)) return std::nullopt;
  sample s;
  s.at_s = now_s;
  try {
    s.node = decoded([&] { return client_->system_info(); });
  } catch (const introspect::client_error& e) {
    lost(e.what(), now_s);
    return std::nullopt;
  }
  if (v.current == screen::groups) return s;  // the grouped table needs the header's figures only
  try {
    s.rows = decoded([&] {
      if (v.groups.drilled.empty()) return client_->top(sort, std::clamp<std::size_t>(n, 1, 1000), v.filter);
      nlohmann::json req{{"op", "top"}, {"sort", sort}, {"n", std::clamp<std::size_t>(n, 1, 1000)}, {"group", v.groups.drilled}};
      if (!v.filter.empty()) req["filter"] = v.filter;
      const auto reply = client_->call(std::move(req));
      std::vector<process_row> rows;
      for (auto& r : reply.at("processes")) rows.push_back(introspect::process_row_from_json(r));
      return rows;
    });
  } catch (const introspect::client_error& e) {
    // A refusal (the node's reductions windows all in use) leaves the session open; a lost link
    // does not. Ask something cheap to tell them apart.
    const std::string why = e.what();
    try {
      decoded([&] { return client_->system_info(); });
    } catch (const introspect::client_error& again) {
      lost(again.what(), now_s);
      return std::nullopt;
    }
    refused = why;
    return std::nullopt;
  }
  s.warnings = warnings_of(*client_);
  if (windowed) {
    s.reductions_known = window_held_;  // the window's first answer counts since each process started
    window_held_ = true;
  }
  return s;
}

std::optional<groups_sample> node_link::groups(const view_state& v, std::size_t n, double now_s, std::string& refused) {
  if (!ensure(now_s)) return std::nullopt;
  groups_sample g;
  try {
    g.result = decoded([&] {
      return introspect::groups_result_from_json(client_->call(
          {{"op", "groups"}, {"sort", group_column_of(v.groups.sort).server_sort}, {"n", std::clamp<std::size_t>(n, 1, 1000)}}));
    });
  } catch (const introspect::client_error& e) {
    if (e.code() == "busy" || e.code() == "bad_request" || e.code() == "unknown_op") {
      refused = e.what();  // the windows all in use, or a node without groups: the session goes on
      return std::nullopt;
    }
    lost(e.what(), now_s);
    return std::nullopt;
  }
  g.reductions_known = group_window_held_ && g.result.window_ms > 0;
  group_window_held_ = true;
  return g;
}

std::optional<process_details> node_link::inspect(pid p, std::string& notice, bool& gone, double now_s) {
  gone = false;
  if (!ensure(now_s)) return std::nullopt;
  try {
    return decoded([&] { return client_->process_info(fmt::format("{}", p), 10, std::chrono::milliseconds(500)); });
  } catch (const introspect::client_error& e) {
    const std::string why = e.what();
    if (e.code() == "noproc") {
      notice = e.exit_reason();  // why it ended, when the node still knows
      gone = true;
    } else {
      lost(why, now_s);
    }
    return std::nullopt;
  }
}

process_details node_link::process_info(const std::string& pid_or_name, double now_s) {
  if (!ensure(now_s)) throw introspect::client_error("connection", problem_);
  return decoded([&] { return client_->process_info(pid_or_name); });
}

std::optional<pid> node_link::whereis(const std::string& name, double now_s) {
  if (name.empty() || !ensure(now_s)) return std::nullopt;
  try {
    return decoded([&] { return client_->process_info(name, 0, std::chrono::milliseconds(100)).row.id; });
  } catch (const introspect::client_error& e) {
    if (!std::string(e.what()).starts_with("no such process")) lost(e.what(), now_s);
    return std::nullopt;
  }
}

void node_link::act(const outcome& o, std::string& notice, double now_s) {
  if (!ensure(now_s)) {
    notice = "not attached: " + problem_;
    return;
  }
  static constexpr const char* ops[] = {"", "", "", "", "kill", "garbage_collect", "suspend", "resume"};
  const char* op = ops[o.what];
  try {
    decoded([&] { return client_->call({{"op", op}, {"pid", fmt::format("{}", o.target)}}); });
    notice = fmt::format("{}: {} done", o.target, op);
  } catch (const introspect::client_error& e) {
    notice = fmt::format("{} {}: {}", op, o.target, e.what());
  }
}

void node_link::operate(const operation& op, std::string& notice, double now_s) {
  if (!ensure(now_s)) {
    notice = "not attached: " + problem_;
    return;
  }
  nlohmann::json req{{"op", op.op}};
  if (op.op == "ack_alarm" || op.op == "clear_alarm") req["alarm"] = op.alarm;
  if (op.op == "set_alarm") {
    req["alarm"] = op.alarm;
    req["severity"] = op.severity;
    req["description"] = op.description;
  }
  if (op.op == "override_valve") {
    req["valve"] = op.valve;
    req["mode"] = op.mode;
    req["for_ms"] = op.for_ms;
  }
  const std::string what = op.op == "override_valve"
                               ? fmt::format("override_valve {} {} for {} min", op.valve, op.mode, op.for_ms / 60'000)
                               : op.op == "reload_rules" ? op.op : fmt::format("{} {}", op.op, op.alarm);
  try {
    const auto reply = decoded([&] { return client_->call(req); });
    if (op.op == "reload_rules" && !reply.value("reloaded", false)) {
      const auto errors = reply.value("errors", std::vector<std::string>{});
      notice = fmt::format("reload_rules failed, the old rules stay: {}{}", errors.empty() ? "no reason given" : errors.front(),
                           errors.size() > 1 ? fmt::format(" (and {} more)", errors.size() - 1) : "");
      return;
    }
    notice = what + ": done";
  } catch (const introspect::client_error& e) {
    notice = fmt::format("{}: {}", what, e.what());
  }
}

std::optional<introspect::supervision_tree> node_link::tree(std::string& notice, double now_s) {
  if (!ensure(now_s)) return std::nullopt;
  try {
    return decoded([&] { return introspect::supervision_tree_from_json(client_->call({{"op", "supervision_tree"}})); });
  } catch (const introspect::client_error& e) {
    if (e.code() == "connection") {
      lost(e.what(), now_s);
    } else {
      notice = fmt::format("supervision_tree: {}", e.what());
    }
    return std::nullopt;
  }
}

connection node_link::status(double now_s) const {
  connection c;
  c.target = target_.display;
  c.role = client_ ? client_->role() : "";
  c.problem = problem_;
  c.retry_in_s = std::max(0.0, next_try_ - now_s);
  return c;
}

}  // namespace agner::etop
