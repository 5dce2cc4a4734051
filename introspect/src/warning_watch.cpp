#include "warning_watch.hpp"

#include <fmt/format.h>

#include "fields.hpp"
#include "session.hpp"

namespace agner::introspect {
namespace {

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

void warning_watch::configure() {
  monitor_.configure(srv_.options.alarms ? srv_.options.alarms->warning_config() : warning_thresholds{});
}

std::vector<warning_row> warning_watch::asked() {
  const auto now = std::chrono::steady_clock::now();
  asked_at_ = now;
  if (!monitor_.sampled()) {
    configure();
    monitor_.watch_schedulers(srv_.rt, wall_ms());
    monitor_.sample(srv_.rt, wall_ms());
    sampled_at_ = now;
  }
  if (!armed_) {
    armed_ = true;
    timer_.expires_after(scheduler_look);
    timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) tick();
    });
  }
  return monitor_.current();
}

void warning_watch::tick() {
  const auto now = std::chrono::steady_clock::now();
  if (now - asked_at_ > watch_for) {  // nobody asks any more: stop costing anything
    armed_ = false;
    return;
  }
  monitor_.watch_schedulers(srv_.rt, wall_ms());
  if (now - sampled_at_ >= std::chrono::milliseconds(monitor_.thresholds().sample_ms)) {
    configure();
    monitor_.sample(srv_.rt, wall_ms());
    sampled_at_ = now;
  }
  timer_.expires_after(scheduler_look);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) tick();
  });
}

void session::warnings(const json& req, const json& id) {
  const auto n = static_cast<std::size_t>(fields::integer(req, "n", 1, static_cast<std::int64_t>(warning_monitor::max_warnings),
                                                          static_cast<std::int64_t>(warning_monitor::max_warnings)));
  if (!srv_.warnings) srv_.warnings = std::make_unique<warning_watch>(srv_);
  auto rows = srv_.warnings->asked();
  json out = json::array();
  for (std::size_t i = 0; i < rows.size() && i < n; ++i) out.push_back(to_json(rows[i]));
  reply(id, {{"warnings", std::move(out)}, {"sample_ms", srv_.warnings->thresholds().sample_ms}});
}

}  // namespace agner::introspect

namespace agner::introspect {
// Here, where warning_watch is complete, so server_state.hpp needs only its name.
server::impl::impl(runtime& r, server_options o) : rt(r), options(std::move(o)) {}
server::impl::~impl() = default;
}  // namespace agner::introspect
