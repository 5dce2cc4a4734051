// The user process: subscribes its client to the match, through the "subscribe" valve.
#include <fmt/format.h>

#include "agner/runtime/runtime.hpp"
#include "connection.hpp"

namespace matchstream {

user_process::user_process(service* s, agner::pid client, std::string user, std::string match)
    : s_(s), client_(client), user_(std::move(user)), match_(std::move(match)) {
  s_->metrics.users.inc();
}

user_process::~user_process() { s_->metrics.users.dec(); }

std::string user_process::describe() const {
  return fmt::format("user {} watching {} through client {}", user_, match_, client_);
}

void user_process::init(agner::context& ctx) {
  ctx.monitor(client_);
  if (s_->subscribe && !s_->subscribe->admit(s_->priority)) {
    ctx.send(client_, refused{"overloaded, retry later", "overloaded"});
    return;  // ends when the client does
  }
  auto m = ctx.node().whereis(match_name(match_));
  if (!m) {
    ctx.send(client_, refused{"unknown match " + escaped(match_), "unknown_match"});
    return;
  }
  ctx.send(*m, subscribe{client_, ctx.self()});
}

void user_process::handle(agner::context& ctx, agner::message& m) {
  if (m.is<agner::down_message>()) ctx.exit("normal");
  else ctx.unhandled(m);
}

}  // namespace matchstream
