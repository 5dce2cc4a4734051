#include "link.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "agner/introspect/json.hpp"

namespace agner::etop {

bool node_link::ensure(double now_s) {
  if (client_) return true;
  if (now_s < next_try_) return false;
  try {
    client_.emplace(target_.host.empty()
                        ? introspect::client::attach_unix(target_.unix_path, target_.role)
                        : introspect::client::attach_tcp(target_.host, target_.port, target_.cookie_file, target_.role));
    problem_.clear();
    backoff_ = 1;
    return true;
  } catch (const std::exception& e) {
    lost(e.what(), now_s);
    return false;
  }
}

void node_link::lost(const std::string& why, double now_s) {
  client_.reset();
  problem_ = why;
  next_try_ = now_s + backoff_;
  backoff_ = std::min(backoff_ * 2, 30.0);  // 1, 2, 4, ... 30 s
}

std::optional<sample> node_link::fetch(const view_state& v, std::size_t n, double now_s) {
  if (!ensure(now_s)) return std::nullopt;
  try {
    sample s;
    s.at_s = now_s;
    s.node = client_->system_info();
    // Columns the node cannot rank are sorted here, among the top rows by queue length.
    const auto& col = column_of(v.sort);
    const std::string sort = col.server_sort.empty() ? "msgq" : std::string(col.server_sort);
    s.rows = client_->top(sort, std::clamp<std::size_t>(n, 1, 1000), v.filter);
    return s;
  } catch (const introspect::client_error& e) {
    lost(e.what(), now_s);
    return std::nullopt;
  }
}

std::optional<process_details> node_link::inspect(pid p, std::string& notice, double now_s) {
  if (!ensure(now_s)) return std::nullopt;
  try {
    return client_->process_info(fmt::format("{}", p), 10, std::chrono::milliseconds(500));
  } catch (const introspect::client_error& e) {
    const std::string why = e.what();
    if (e.code() == "noproc") {
      notice = why;
    } else {
      lost(why, now_s);
    }
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
    client_->call({{"op", op}, {"pid", fmt::format("{}", o.target)}});
    notice = fmt::format("{}: {} done", o.target, op);
  } catch (const introspect::client_error& e) {
    notice = fmt::format("{} {}: {}", op, o.target, e.what());
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
