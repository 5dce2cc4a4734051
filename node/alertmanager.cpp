#include "alertmanager.hpp"

#include "agner/alarms/alertmanager_url.hpp"

#include <atomic>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <mutex>
#include <thread>
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

/// The sentence for a failed read of the answer.
std::string reply_error(boost::system::error_code ec) {
  if (ec == http::error::body_limit)
    return fmt::format("the answer's body is longer than {} bytes; it was not read", alertmanager_notifier::max_reply_body_bytes);
  if (ec == http::error::header_limit || ec == http::error::buffer_overflow)
    return fmt::format("the answer's header is longer than {} bytes; it was not read", alertmanager_notifier::max_reply_header_bytes);
  return "reading the answer: " + ec.message();
}

}  // namespace

struct alertmanager_notifier::shared {
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard{io.get_executor()};
  std::string url;  // escaped for the log
  std::string host, port, host_header, target;
  std::string invalid;  // why the URL cannot be used (a rule built without the parser), else empty
  std::function<void(std::string_view)> log;
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> posted{0}, dropped{0};
  // The queue: filled by the ticker, emptied by the I/O thread.
  std::mutex mutex;
  std::deque<std::string> queue;
  std::uint64_t dropped_logged = 0;
  std::int64_t drop_logged_ms = 0;
  // Exceptions caught at the thread boundary (the I/O thread's own): logged at most once a minute.
  std::uint64_t exceptions = 0, exceptions_logged = 0;
  std::chrono::steady_clock::time_point exception_logged_at{};
  // The I/O thread's own.
  std::shared_ptr<struct attempt> current;
  boost::asio::steady_timer retry{io};
  bool failing = false;
  // Set when the I/O thread has left run().
  std::mutex done_mutex;
  std::condition_variable done_cv;
  bool done = false;

  void say(const std::string& line) {
    if (log && !stopping) log(line);
  }
  void kick();
  /// Ends an attempt; a failed batch is retried first unless `retry` is false (Alertmanager refused it).
  void finish(std::shared_ptr<attempt> a, const std::string& error, bool retry = true);  // by value: `a` may be `current`, reset here
  void cancel();
  /// After a handler threw out of io.run(): says so (at most once a minute), fails the post in flight
  /// (so it is retried), and lets the thread run again.
  void recover(const std::string& what);
};

struct attempt {
  explicit attempt(boost::asio::io_context& io) : resolver(io), socket(io), deadline(io) {
    // Alertmanager answers a few bytes of JSON: a longer header or body is refused as it arrives,
    // before it is stored (by default Beast would reserve whatever Content-Length says).
    parser.header_limit(alertmanager_notifier::max_reply_header_bytes);
    parser.body_limit(alertmanager_notifier::max_reply_body_bytes);
  }
  boost::asio::ip::tcp::resolver resolver;
  boost::asio::ip::tcp::socket socket;
  boost::asio::steady_timer deadline;
  beast::flat_buffer buffer{alertmanager_notifier::max_reply_header_bytes + alertmanager_notifier::max_reply_body_bytes};
  http::request<http::string_body> req;
  http::response_parser<http::string_body> parser;
  const char* step = "resolving the host";  // what the deadline interrupted, for its sentence
  bool done = false;
};

void alertmanager_notifier::shared::kick() {
  if (current || stopping) return;
  std::string body;
  {
    std::lock_guard lock(mutex);
    if (!invalid.empty()) {  // never posted: counted as dropped (logged once, at the start)
      dropped += queue.size();
      queue.clear();
    }
    if (queue.empty()) return;
    body = std::move(queue.front());
    queue.pop_front();
  }
  auto a = std::make_shared<attempt>(io);
  current = a;
  a->req = {http::verb::post, target, 11};
  a->req.set(http::field::host, host_header);
  a->req.set(http::field::content_type, "application/json");
  a->req.body() = std::move(body);
  a->req.prepare_payload();
  // Handlers hold `this` raw: they only run inside io.run(), which the I/O thread keeps alive.
  a->deadline.expires_after(std::chrono::milliseconds(post_deadline_ms));
  a->deadline.async_wait([this, a](boost::system::error_code ec) {
    if (!ec && !a->done) finish(a, fmt::format("no answer within {} ms, while {}", post_deadline_ms, a->step));
  });
  a->resolver.async_resolve(host, port, [this, a](boost::system::error_code resolved, boost::asio::ip::tcp::resolver::results_type found) {
    if (a->done) return;
    if (resolved) return finish(a, "resolving " + agner::alarms::escaped_for_log(host) + ": " + resolved.message());
    a->step = "connecting";
    boost::asio::async_connect(a->socket, found, [this, a](boost::system::error_code connected, const boost::asio::ip::tcp::endpoint&) {
      if (a->done) return;
      if (connected) return finish(a, "connecting: " + connected.message());
      a->step = "sending the alerts";
      http::async_write(a->socket, a->req, [this, a](boost::system::error_code written, std::size_t) {
        if (a->done) return;
        if (written) return finish(a, "sending: " + written.message());
        a->step = "reading the answer's header";
        // The header first, then the body: Boost 1.74's eager parser skips the Content-Length check
        // against body_limit when the body came in the same read as the header (and then reserves
        // whatever Content-Length says), so the length is checked here between the two reads.
        http::async_read_header(a->socket, a->buffer, a->parser, [this, a](boost::system::error_code ec, std::size_t) {
          if (a->done) return;
          if (ec) return finish(a, reply_error(ec));
          if (a->parser.content_length() && *a->parser.content_length() > max_reply_body_bytes)
            return finish(a, reply_error(http::error::body_limit));
          a->step = "reading the answer's body";
          http::async_read(a->socket, a->buffer, a->parser, [this, a](boost::system::error_code read, std::size_t) {
            if (a->done) return;
            if (read) return finish(a, reply_error(read));
            const auto& res = a->parser.get();
            if (res.result_int() / 100 != 2)  // 4xx: this batch will never be taken; 5xx: try it again
              return finish(a, fmt::format("HTTP {}: {}", res.result_int(), agner::alarms::escaped_for_log(res.body(), 200)),
                            res.result_int() / 100 != 4);
            finish(a, "");
          });
        });
      });
    });
  });
}

void alertmanager_notifier::shared::finish(std::shared_ptr<attempt> a, const std::string& error, bool retry_it) {
  a->done = true;
  boost::system::error_code ignored;
  a->deadline.cancel();
  a->resolver.cancel();
  a->socket.close(ignored);
  if (current == a) current.reset();
  if (stopping) return;
  // The state first, the log line last: a log call that throws (caught at the thread boundary)
  // must not lose the batch or the retry.
  if (error.empty()) {
    ++posted;
    const bool was_failing = failing;
    failing = false;
    kick();
    if (was_failing) say(fmt::format("alertmanager {}: reachable again", url));
    return;
  }
  const bool first = !failing;
  failing = true;
  {
    std::lock_guard lock(mutex);
    if (retry_it && queue.size() < max_queued) queue.push_front(std::move(a->req.body()));  // retried first
    else ++dropped;
  }
  retry.expires_after(std::chrono::seconds(1));
  retry.async_wait([this](boost::system::error_code ec) {
    if (!ec) kick();
  });
  if (first) say(fmt::format("alertmanager {}: cannot post alerts ({}); will retry", url, error));
}

void alertmanager_notifier::shared::recover(const std::string& what) {
  ++exceptions;
  if (current && !current->done) finish(current, "an exception: " + agner::alarms::escaped_for_log(what));
  else if (current) current.reset();
  if (!current && !stopping) {  // nothing in flight any more: make sure what waits is tried again
    retry.expires_after(std::chrono::seconds(1));
    retry.async_wait([this](boost::system::error_code ec) {
      if (!ec) kick();
    });
  }
  const auto now = std::chrono::steady_clock::now();
  if (exceptions_logged == 0 || now - exception_logged_at >= std::chrono::minutes(1)) {
    exceptions_logged = exceptions;
    exception_logged_at = now;
    say(fmt::format("alertmanager {}: a post failed on an exception ({}; {} in all); the sender goes on", url,
                    agner::alarms::escaped_for_log(what), exceptions));
  }
}

void alertmanager_notifier::shared::cancel() {
  retry.cancel();
  if (current) finish(current, "stopping");
  guard.reset();  // run() returns once what was cancelled has completed
}

alertmanager_notifier::alertmanager_notifier(alarms::alertmanager_rule rule, std::string node, std::int64_t tick_ms,
                                             std::function<void(std::string_view)> log)
    : rule_(std::move(rule)), node_(std::move(node)), tick_ms_(tick_ms), shared_(std::make_shared<shared>()) {
  auto& s = *shared_;
  s.url = agner::alarms::escaped_for_log(rule_.url);
  s.log = std::move(log);
  auto parsed = agner::alarms::parse_alertmanager_url(rule_.url);  // checked by the rules parser already
  if (auto* url = std::get_if<agner::alarms::alertmanager_url>(&parsed)) {
    s.host = std::move(url->host);
    s.port = std::move(url->port);
    s.host_header = std::move(url->host_header);
    s.target = std::move(url->target);
  } else {
    s.invalid = std::get<std::string>(parsed);
    s.say(fmt::format("alertmanager {}: not used: the URL {}", s.url, s.invalid));
  }
  thread_ = std::thread([keep = shared_] {
    // A thread boundary: an exception out of a handler (a bad_alloc, say) fails that post and the
    // thread runs on; the sender must not die and leave every later alert unsent.
    for (;;) {
      try {
        try {
          keep->io.run();
          break;  // stopped: the destructor reset the work guard
        } catch (const std::exception& e) {
          keep->recover(e.what());
        } catch (...) {
          keep->recover("an unknown exception");
        }
      } catch (...) {  // recover() itself failed (memory exhausted): run again all the same
      }
    }
    std::lock_guard lock(keep->done_mutex);
    keep->done = true;
    keep->done_cv.notify_all();
  });
}

alertmanager_notifier::~alertmanager_notifier() {
  auto& s = *shared_;
  s.stopping = true;
  boost::asio::post(s.io, [p = &s] { p->cancel(); });
  std::unique_lock lock(s.done_mutex);
  bool ended = s.done_cv.wait_for(lock, std::chrono::milliseconds(stop_wait_ms), [&] { return s.done; });
  if (!ended) {
    s.io.stop();  // an operation did not complete when cancelled (getaddrinfo cannot be): leave run() now
    ended = s.done_cv.wait_for(lock, std::chrono::milliseconds(100), [&] { return s.done; });
  }
  lock.unlock();
  if (ended) {
    thread_.join();  // it is past run(): returning
    return;
  }
  thread_.detach();  // it owns `shared_` too, so it can finish safely
  if (s.log)
    s.log(fmt::format("alertmanager {}: the sender thread did not stop within {} ms; it is left to finish on its own", s.url,
                      stop_wait_ms));
}

std::uint64_t alertmanager_notifier::posted() const { return shared_->posted; }
std::uint64_t alertmanager_notifier::dropped() const { return shared_->dropped; }

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
  auto& s = *shared_;
  std::string drop_line;
  {
    std::lock_guard lock(s.mutex);
    s.queue.push_back(std::move(body));
    if (s.queue.size() > max_queued) {  // bounded: a dead Alertmanager costs little; the newest state wins
      s.queue.pop_front();
      ++s.dropped;
    }
    if (s.dropped > s.dropped_logged && now - s.drop_logged_ms >= 60'000) {  // at most a line a minute
      drop_line = fmt::format("alertmanager {}: {} queued post{} dropped (oldest first; {} in all): it is not keeping up",
                              s.url, s.dropped - s.dropped_logged, s.dropped - s.dropped_logged == 1 ? "" : "s", s.dropped.load());
      s.dropped_logged = s.dropped;
      s.drop_logged_ms = now;
    }
  }
  if (!drop_line.empty()) s.say(drop_line);
  boost::asio::post(s.io, [p = &s] { p->kick(); });
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

}  // namespace agner::node
