#include "trace_link.hpp"

#include <fmt/format.h>

namespace agner::etop {

bool trace_link::start(const target& t, pid p, const std::string& name, const std::string& title, const trace_request& r) {
  stop();
  pane_ = trace_pane{};
  pane_.target = p;
  pane_.title = title;
  try {
    try {
      client_.emplace(t.host.empty()
                          ? introspect::client::attach_unix(t.unix_path, t.role, t.reply_within)
                          : introspect::client::attach_tcp(t.host, t.port, t.cookie_file, t.role, t.reply_within));
    } catch (const std::exception& e) {
      end(fmt::format("cannot attach: {}", e.what()));
      return false;
    }
    nlohmann::json req{{"op", "trace_start"}, {"count", r.count}, {"seconds", r.seconds}, {"rate", r.rate}, {"sent", r.sent}};
    if (name.empty()) {
      req["pid"] = fmt::format("{}", p);
    } else {
      req["name"] = name;
    }
    const auto reply = client_->call(req);
    if (auto it = reply.find("pid"); it != reply.end() && it->is_string()) {
      if (auto parsed = agner::parse_pid(it->get<std::string>())) pane_.target = *parsed;
    }
    return true;
  } catch (const introspect::client_error& e) {
    end((e.code() == "connection" ? "trace lost: " : "the node refused the trace: ") + std::string(e.what()));
    return false;
  } catch (const std::exception& e) {
    end(fmt::format("the node refused the trace: {}", e.what()));
    return false;
  }
}

bool trace_link::poll(std::chrono::milliseconds wait) {
  if (!running()) return false;
  bool changed = false;
  try {
    for (auto e = client_->next_event(wait); e; e = client_->next_event(std::chrono::milliseconds(0)))
      changed |= apply_trace_frame(pane_, *e);
  } catch (const std::exception& e) {
    end(fmt::format("trace lost: {}", e.what()));
    return true;
  }
  if (pane_.ended) client_.reset();
  return changed;
}

bool trace_link::check() {
  if (!running()) return false;
  try {
    client_->call({{"op", "system_info"}});  // the events that come meanwhile are kept for poll()
    return true;
  } catch (const std::exception& e) {
    end(fmt::format("trace lost: {}", e.what()));
    return false;
  }
}

void trace_link::stop() { client_.reset(); }

void trace_link::end(const std::string& why) {
  client_.reset();
  pane_.ended = true;
  pane_.status = why;
}

}  // namespace agner::etop
