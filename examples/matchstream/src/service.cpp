#include "service.hpp"

#include <chrono>
#include <future>
#include <memory>
#include <stdexcept>

#include <fmt/format.h>

#include "agner/runtime/supervisor.hpp"
#include "listener.hpp"
#include "match_process.hpp"

namespace matchstream {

namespace {
std::vector<double> latency_buckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
}
agner::exporter::counter refused_counter(agner::exporter::metrics& m, const char* reason) {
  return m.make_counter("matchstream_connections_refused_total",
                        "Connections answered ERROR and closed, by reason.", {{"reason", reason}});
}
/// A supervisor child registered under its id (match_sup, user_sup_3: names an operator reads in etop).
agner::child_spec named_sup(const std::string& id, agner::supervisor_flags flags, std::vector<agner::child_spec> children) {
  agner::child_spec c;
  c.id = id;
  c.start = [id, flags, children](agner::context& ctx) {
    return ctx.spawn_link_with<agner::supervisor>(agner::spawn_options{.name = id}, flags, children);
  };
  c.shutdown = std::chrono::milliseconds::max();
  c.type = agner::child_type::supervisor;  // etop's tree says so even while it is down
  return c;
}
agner::exporter::counter closed_counter(agner::exporter::metrics& m, const char* reason) {
  return m.make_counter("matchstream_connections_closed_total", "Client connections closed after subscribing, by reason.",
                        {{"reason", reason}});
}
}  // namespace

business_metrics::business_metrics(agner::exporter::metrics& m)
    : clients_connected(m.make_gauge("matchstream_clients_connected", "Clients subscribed to a match now.")),
      users(m.make_gauge("matchstream_users", "User processes alive.")),
      matches(m.make_gauge("matchstream_matches", "Live matches (match processes).")),
      events_registered(m.make_counter("matchstream_events_registered_total", "Events the watchers registered.")),
      events_delivered(m.make_counter("matchstream_events_delivered_total", "Blocks handed to a client's socket.")),
      delivery_latency(m.make_histogram("matchstream_delivery_latency_seconds",
                                        "From an event's registration (at_us) to handing its block to a client's socket.",
                                        latency_buckets())),
      refused_overloaded(refused_counter(m, "overloaded")),
      refused_bad_first_line(refused_counter(m, "bad_first_line")),
      refused_unsupported_version(refused_counter(m, "unsupported_version")),
      refused_unknown_match(refused_counter(m, "unknown_match")),
      refused_timeout(refused_counter(m, "timeout")),
      refused_line_too_long(refused_counter(m, "line_too_long")),
      dropped_send_buffer_full(m.make_counter("matchstream_events_dropped_total",
                                              "Blocks not delivered to a client closed at its send-buffer limit.",
                                              {{"reason", "send_buffer_full"}})),
      closed_peer_closed(closed_counter(m, "peer_closed")),
      closed_match_ended(closed_counter(m, "match_ended")),
      closed_send_buffer_full(closed_counter(m, "send_buffer_full")),
      closed_error(closed_counter(m, "error")),
      store_errors(m.make_counter("matchstream_store_errors_total",
                                  "Events the store failed to write to the database (their watchers got ERROR: not stored).")) {}

std::string match_name(const std::string& id) { return "match:" + id; }

std::uint16_t start_service(agner::node::host& h, service& s, const service_options& o) {
  s.user_shards = o.user_shards ? o.user_shards : 1;
  // match_sup: the stored matches that have not ended come back with their status and seq.
  std::vector<agner::child_spec> matches;
  if (s.db) {
    for (const auto& m : s.db->matches()) {
      auto status = status_from_json(m.status_json);
      match_summary sum{m.id, status.home, status.visit, status.home_score, status.visit_score, status.period,
                        m.seq, 0, m.ended};
      s.live.put(sum);
      if (m.ended) continue;
      agner::child_spec c;
      c.id = match_name(m.id);
      c.restart = agner::restart_type::temporary;
      c.start = [sp = &s, id = m.id, status, seq = m.seq](agner::context& ctx) {
        return ctx.spawn_link_with<match_process>(agner::spawn_options{.name = match_name(id)}, sp, id, status, seq);
      };
      matches.push_back(std::move(c));
    }
  }
  std::vector<agner::child_spec> shards;
  for (unsigned i = 0; i < s.user_shards; ++i)
    shards.push_back(named_sup(fmt::format("user_sup_{}", i), {.intensity = 1000, .period = std::chrono::seconds(1)}, {}));
  auto spot = std::make_shared<listen_spot>();
  spot->address = o.listen_address;
  spot->port = o.listen_port;
  spot->backlog = o.backlog;
  auto bound = spot->bound.get_future();
  std::vector<agner::child_spec> top;
  if (s.db) top.push_back(store_child(*s.db, &s.metrics.store_errors));
  top.push_back(named_sup("match_sup", {.intensity = 1000, .period = std::chrono::seconds(1)}, std::move(matches)));
  top.push_back(named_sup("user_sup", {.intensity = 10, .period = std::chrono::seconds(10)}, std::move(shards)));
  agner::child_spec listener;
  listener.id = "client_listener";
  listener.restart = agner::restart_type::transient;  // restarted after a crash, not after failing its first listen
  listener.start = [sp = &s, spot](agner::context& ctx) {
    return ctx.spawn_link_with<client_listener>(agner::spawn_options{.name = "client_listener"}, sp, spot);
  };
  top.push_back(std::move(listener));
  h.rt().spawn_with<agner::supervisor>(agner::spawn_options{.name = "matchstream_sup"},
                                       agner::supervisor_flags{.strategy = agner::restart_strategy::rest_for_one,
                                                               .intensity = 5, .period = std::chrono::seconds(10)},
                                       std::move(top));
  if (bound.wait_for(std::chrono::seconds(30)) != std::future_status::ready)
    throw std::runtime_error("the client listener did not start within 30 s");
  return bound.get();  // rethrows the listener's error, naming the address
}

}  // namespace matchstream
