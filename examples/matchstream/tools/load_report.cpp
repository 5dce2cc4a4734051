// matchstream-load's report: JSON between worker processes, the progress line and the summary.
#include <fmt/format.h>

#include "load.hpp"

namespace matchstream::tools {

nlohmann::json load_report::to_json() const {
  nlohmann::json m = nlohmann::json::object();
  for (const auto& [id, s] : matches) m[id] = {{"clients_ended", s.clients_ended}, {"last_seq", s.last_seq}};
  return {{"worker", worker},         {"clients", clients},     {"connected", connected},
          {"connecting", connecting}, {"subscribed", subscribed}, {"ended", ended},
          {"failed", failed},         {"reconnects", reconnects}, {"events", events},       {"interval_events", interval_events},
          {"interval_s", interval_s}, {"gaps", gaps},           {"lost", lost},
          {"last_subscribed_s", last_subscribed_s}, {"malformed", malformed},
          {"bytes", bytes},           {"matches", m},           {"latency", latency.to_json()}};
}

load_report load_report::from_json(const nlohmann::json& j) {
  load_report r;
  r.worker = j.at("worker").get<int>();
  r.clients = j.at("clients").get<std::size_t>();
  r.connected = j.at("connected").get<std::uint64_t>();
  r.connecting = j.at("connecting").get<std::uint64_t>();
  r.subscribed = j.at("subscribed").get<std::uint64_t>();
  r.ended = j.at("ended").get<std::uint64_t>();
  r.failed = j.at("failed").get<std::map<std::string, std::uint64_t>>();
  r.reconnects = j.value("reconnects", std::uint64_t{0});
  r.events = j.at("events").get<std::uint64_t>();
  r.interval_events = j.at("interval_events").get<std::uint64_t>();
  r.interval_s = j.at("interval_s").get<double>();
  r.gaps = j.at("gaps").get<std::uint64_t>();
  r.lost = j.at("lost").get<std::uint64_t>();
  r.last_subscribed_s = j.at("last_subscribed_s").get<double>();
  r.malformed = j.at("malformed").get<std::uint64_t>();
  r.bytes = j.at("bytes").get<std::uint64_t>();
  for (const auto& [id, s] : j.at("matches").items())
    r.matches[id] = {s.at("clients_ended").get<std::uint64_t>(), s.at("last_seq").get<std::int64_t>()};
  r.latency = histogram::from_json(j.at("latency"));
  return r;
}

void load_report::merge(const load_report& o) {
  clients += o.clients;
  connected += o.connected;
  connecting += o.connecting;
  subscribed += o.subscribed;
  ended += o.ended;
  for (const auto& [k, v] : o.failed) failed[k] += v;
  reconnects += o.reconnects;
  events += o.events;
  interval_events += o.interval_events;
  interval_s = std::max(interval_s, o.interval_s);
  gaps += o.gaps;
  lost += o.lost;
  last_subscribed_s = std::max(last_subscribed_s, o.last_subscribed_s);
  malformed += o.malformed;
  bytes += o.bytes;
  for (const auto& [id, s] : o.matches) {
    auto& m = matches[id];
    m.clients_ended += s.clients_ended;
    m.last_seq = std::max(m.last_seq, s.last_seq);
  }
  latency.merge(o.latency);
}

namespace {
std::string ms(std::uint64_t us) { return fmt::format("{:.3f}ms", static_cast<double>(us) / 1000.0); }
double ms_value(std::uint64_t us) { return static_cast<double>(us) / 1000.0; }
nlohmann::json latency_json(const histogram& h) {
  return {{"p50", ms_value(h.percentile_us(0.50))},
          {"p99", ms_value(h.percentile_us(0.99))},
          {"max", ms_value(h.max_us())},
          {"count", h.count()}};
}
std::uint64_t failed_total(const load_report& r) {
  std::uint64_t n = 0;
  for (const auto& [k, v] : r.failed) n += v;
  return n;
}
}  // namespace

std::string progress_line(const load_report& r, double elapsed_s) {
  std::string reasons;
  for (const auto& [k, v] : r.failed) reasons += fmt::format("{}{} {}", reasons.empty() ? " (" : ", ", k, v);
  if (!reasons.empty()) reasons += ")";
  double rate = r.interval_s > 0 ? static_cast<double>(r.interval_events) / r.interval_s : 0.0;
  return fmt::format(
      "matchstream-load: {:.0f}s connected {} connecting {} ended {} failed {}{} events {} events/s {:.0f} gaps {} "
      "latency p50 {} p99 {} max {}",
      elapsed_s, r.connected, r.connecting, r.ended, failed_total(r), reasons, r.events, rate, r.gaps,
      ms(r.latency.percentile_us(0.50)), ms(r.latency.percentile_us(0.99)), ms(r.latency.max_us())) +
         (r.reconnects ? fmt::format(" reconnects {}", r.reconnects) : std::string());
}

nlohmann::json summary_json(const load_report& total, const std::vector<load_report>& workers,
                            const load_options& o, double elapsed_s) {
  nlohmann::json per_worker = nlohmann::json::array();
  for (const auto& w : workers)
    per_worker.push_back({{"worker", w.worker},
                          {"clients", w.clients},
                          {"subscribed", w.subscribed},
                          {"ended", w.ended},
                          {"failed", w.failed},
                          {"events", w.events},
                          {"gaps", w.gaps},
                          {"lost", w.lost},
                          {"latency_ms", latency_json(w.latency)}});
  nlohmann::json m = nlohmann::json::object();
  for (const auto& [id, s] : total.matches) m[id] = {{"clients_ended", s.clients_ended}, {"last_seq", s.last_seq}};
  return {{"server", fmt::format("{}:{}", o.host, o.port)},
          {"clients", o.clients},
          {"workers", workers.size()},
          {"elapsed_s", elapsed_s},
          {"subscribed", total.subscribed},
          {"ended", total.ended},
          {"failed", total.failed},
          {"failed_total", failed_total(total)},
          {"reconnects", total.reconnects},
          {"events", total.events},
          {"events_per_s", elapsed_s > 0 ? static_cast<double>(total.events) / elapsed_s : 0.0},
          {"gaps", total.gaps},
          {"lost", total.lost},
          {"connect_s", total.last_subscribed_s},
          {"malformed", total.malformed},
          {"bytes", total.bytes},
          {"latency_ms", latency_json(total.latency)},
          {"matches", m},
          {"per_worker", per_worker}};
}

}  // namespace matchstream::tools
