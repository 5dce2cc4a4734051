// client_listener: takes every connection (clients and watchers alike: the first line decides),
// asks the "admission" valve, and hands each admitted one to a fresh client process.
#include <future>

#include <fmt/format.h>

#include "agner/runtime/runtime.hpp"
#include "connection.hpp"
#include "listener.hpp"

namespace matchstream {

client_listener::client_listener(service* s, std::shared_ptr<listen_spot> spot) : s_(s), spot_(std::move(spot)) {}

void client_listener::init(agner::context& ctx) {
  try {
    auto [port, bound] = ctx.tcp_listen(spot_->address, spot_->port, spot_->backlog);
    listener_ = port;
    spot_->port = bound;  // a restart listens on the same port again
    if (!spot_->told.exchange(true)) spot_->bound.set_value(bound);
  } catch (...) {
    if (spot_->told.exchange(true)) throw;  // a restart that cannot listen again: its supervisor decides
    // The first start: main says why in one sentence and exits; a quiet end (the child is transient).
    spot_->bound.set_exception(std::current_exception());
    ctx.exit("normal");
  }
}

std::string client_listener::describe() const {
  return fmt::format("listening on {}:{} (backlog {}), {} accepted, {} refused (overloaded)", spot_->address, spot_->port,
                     spot_->backlog, accepted_, refused_);
}

void client_listener::handle(agner::context& ctx, agner::message& m) {
  if (auto* a = m.get<agner::tcp_accepted>()) {
    if (s_->admission && !s_->admission->admit(s_->priority)) {
      ++refused_;
      s_->metrics.refused_overloaded.inc();
      ctx.tcp_send(a->socket, std::string("ERROR: overloaded, retry later\n"));
      ctx.close_port(a->socket);
      return;
    }
    ++accepted_;
    auto c = ctx.spawn<client_process>(s_, a->socket, std::move(a->peer));
    ctx.give_port(a->socket, c);
  } else if (auto* c = m.get<agner::tcp_closed>()) {
    throw std::runtime_error("the listening socket failed: " + c->reason);  // the supervisor restarts it
  } else {
    ctx.unhandled(m);
  }
}

}  // namespace matchstream
