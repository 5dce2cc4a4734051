#pragma once
// Sends the node's alarms to Alertmanager (v2 API) the way Prometheus does: startsAt when the
// alarm was raised; while it fires, endsAt a few resend intervals ahead, re-sent every interval;
// when it clears, endsAt = the clear time, re-sent for 15 minutes.
//
// All network I/O is asynchronous on the notifier's own io_context thread, under one deadline per
// post (resolve, connect, write and read together): nothing the ticker, a reload or a signal does
// ever waits on the network. What a post reads is bounded too (max_reply_*_bytes), and an exception
// in a post fails that post only: the I/O thread runs on.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "agner/alarms/rules.hpp"
#include "agner/introspect/snapshot.hpp"

namespace agner::node {

class alertmanager_notifier {
 public:
  /// Most posts waiting; past it the oldest is dropped (counted, logged at most once a minute).
  static constexpr std::size_t max_queued = 16;
  /// One post (resolve + connect + write + read) is abandoned after this long.
  static constexpr std::int64_t post_deadline_ms = 5000;
  /// Longest answer header read from Alertmanager, in bytes; past it the post fails (retried).
  static constexpr std::uint32_t max_reply_header_bytes = 8192;
  /// Longest answer body read, in bytes (Alertmanager answers a few bytes of JSON); past it, or past
  /// a Content-Length that says more, the post fails (retried) and the connection is closed unread.
  static constexpr std::uint32_t max_reply_body_bytes = 8192;
  /// How long the destructor waits for the I/O thread to finish before leaving it to end alone.
  static constexpr std::int64_t stop_wait_ms = 1000;

  /// Starts the I/O thread. `rule.url` is http://HOST[:PORT][/PATH] (checked by the rules parser; a
  /// URL parse_alertmanager_url refuses is logged once and nothing is posted, every batch dropped).
  /// `log` is called from the I/O thread (and the destructor's) and must be thread-safe; if it throws,
  /// the line is lost and nothing else (the batch and its retry are settled before a line is logged).
  alertmanager_notifier(alarms::alertmanager_rule rule, std::string node, std::int64_t tick_ms,
                        std::function<void(std::string_view)> log);
  /// Cancels what is in flight and waits at most stop_wait_ms for the I/O thread; if it has not
  /// ended by then (a resolver stuck in getaddrinfo), it is detached, logged, and ends on its own.
  ~alertmanager_notifier();
  alertmanager_notifier(const alertmanager_notifier&) = delete;
  alertmanager_notifier& operator=(const alertmanager_notifier&) = delete;

  /// Called every tick, from one thread (the alarm ticker), with the active alarms: queues what is
  /// due (new, changed, cleared, or due for its resend) for the I/O thread. Cost: one map walk
  /// over the alarms it knows, a JSON body when something is due, a mutex held for a push.
  /// Never blocks on the network.
  void update(const std::vector<introspect::alarm_row>& active, std::int64_t now_ms);
  /// Posts Alertmanager accepted, so far. Thread-safe.
  std::uint64_t posted() const;
  /// Posts dropped from a full queue, so far. Thread-safe.
  std::uint64_t dropped() const;

  struct shared;  // the state the I/O thread owns with this object (alertmanager.cpp)

 private:
  struct sent {
    std::string severity, description;
    std::int64_t starts = 0, last_sent = 0, cleared = -1;
  };
  std::string payload(const std::vector<std::pair<std::string, const sent*>>& due, std::int64_t now) const;

  alarms::alertmanager_rule rule_;
  std::string node_;
  std::int64_t tick_ms_;
  std::map<std::string, sent> known_;  // by "id\0source"; the ticker's only
  std::shared_ptr<shared> shared_;
  std::thread thread_;  // runs shared_->io
};

}  // namespace agner::node
