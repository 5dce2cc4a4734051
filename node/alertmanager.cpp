#include "alertmanager.hpp"

#include <ctime>
#include <utility>  // before Asio (Boost 1.74's awaitable.hpp needs std::exchange)

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace agner::node {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;

constexpr std::int64_t resolved_for_ms = 15 * 60 * 1000;  // Prometheus re-sends a resolved alert this long

std::string iso8601(std::int64_t ms) {
  const std::time_t s = ms / 1000;
  std::tm tm{};
  gmtime_r(&s, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec, ms % 1000);
}

}  // namespace

alertmanager_notifier::alertmanager_notifier(alarms::alertmanager_rule rule, std::string node, std::int64_t tick_ms,
                                             std::function<void(std::string_view)> log)
    : rule_(std::move(rule)), node_(std::move(node)), tick_ms_(tick_ms), log_(std::move(log)) {
  // http://HOST:PORT/PATH (validated by the rules parser)
  std::string rest = rule_.url.substr(7);
  const auto slash = rest.find('/');
  target_ = slash == std::string::npos ? "/api/v2/alerts" : rest.substr(slash);
  rest = rest.substr(0, slash);
  const auto colon = rest.rfind(':');
  host_ = colon == std::string::npos ? rest : rest.substr(0, colon);
  port_ = colon == std::string::npos ? "80" : rest.substr(colon + 1);
  sender_ = std::thread([this] {
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait(lock, [this] { return stopping_ || !outbox_.empty(); });
      if (stopping_) return;
      auto batch = std::move(outbox_);
      outbox_.clear();
      lock.unlock();
      for (auto& body : batch) post(body);
      lock.lock();
    }
  });
}

alertmanager_notifier::~alertmanager_notifier() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  sender_.join();
}

void alertmanager_notifier::update(const std::vector<introspect::alarm_row>& active, std::int64_t now) {
  std::vector<std::pair<std::string, const sent*>> due;
  std::map<std::string, bool> seen;
  for (auto& a : active) {
    const std::string key = a.id + '\0' + a.source;
    seen[key] = true;
    auto [it, fresh] = known_.try_emplace(key);
    sent& s = it->second;
    const bool changed = fresh || s.cleared >= 0 || s.severity != a.severity;
    s.cleared = -1;
    s.severity = a.severity;
    s.description = a.description;
    s.starts = static_cast<std::int64_t>(a.raised_at_ms);
    if (changed || now - s.last_sent >= rule_.resend_ms) {
      s.last_sent = now;
      due.emplace_back(key, &s);
    }
  }
  for (auto it = known_.begin(); it != known_.end();) {
    sent& s = it->second;
    if (!seen.count(it->first)) {
      if (s.cleared < 0) {  // just cleared: say so now
        s.cleared = now;
        s.last_sent = now;
        due.emplace_back(it->first, &s);
      } else if (now - s.cleared >= resolved_for_ms) {
        it = known_.erase(it);
        continue;
      } else if (now - s.last_sent >= rule_.resend_ms) {
        s.last_sent = now;
        due.emplace_back(it->first, &s);
      }
    }
    ++it;
  }
  if (due.empty()) return;
  std::string body = payload(due, now);
  {
    std::lock_guard lock(mutex_);
    if (outbox_.size() < 16) outbox_.push_back(std::move(body));  // bounded: a dead Alertmanager costs little
  }
  wake_.notify_one();
}

std::string alertmanager_notifier::payload(const std::vector<std::pair<std::string, const sent*>>& due, std::int64_t now) const {
  nlohmann::json alerts = nlohmann::json::array();
  for (auto& [key, s] : due) {
    const auto split = key.find('\0');
    nlohmann::json labels{{"alertname", key.substr(0, split)}, {"severity", s->severity}, {"node", node_}};
    if (split + 1 < key.size()) labels["source"] = key.substr(split + 1);
    for (auto& [k, v] : rule_.labels) labels[k] = v;
    // Firing: endsAt a few resend intervals ahead, so a node that dies resolves on its own.
    const std::int64_t ends = s->cleared >= 0 ? s->cleared : now + 4 * std::max(tick_ms_, rule_.resend_ms);
    alerts.push_back({{"labels", labels},
                      {"annotations", {{"description", s->description}}},
                      {"startsAt", iso8601(s->starts)},
                      {"endsAt", iso8601(ends)}});
  }
  return alerts.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void alertmanager_notifier::post(const std::string& body) {
  try {
    boost::asio::io_context io;
    beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::seconds(5));
    boost::asio::ip::tcp::resolver resolver(io);
    stream.connect(resolver.resolve(host_, port_));
    http::request<http::string_body> req{http::verb::post, target_, 11};
    req.set(http::field::host, host_);
    req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    if (res.result() != http::status::ok) throw std::runtime_error(fmt::format("HTTP {}: {}", res.result_int(), res.body().substr(0, 200)));
    ++posted_;
    if (failing_ && log_) log_(fmt::format("alertmanager {}: reachable again", rule_.url));
    failing_ = false;
  } catch (const std::exception& e) {
    if (!failing_ && log_) log_(fmt::format("alertmanager {}: cannot post alerts ({}); will retry", rule_.url, e.what()));
    failing_ = true;
  }
}

}  // namespace agner::node
