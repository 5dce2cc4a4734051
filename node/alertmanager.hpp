#pragma once
// Sends the node's alarms to Alertmanager (v2 API) the way Prometheus does: startsAt when the
// alarm was raised; while it fires, endsAt a few resend intervals ahead, re-sent every interval;
// when it clears, endsAt = the clear time, re-sent for 15 minutes.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "agner/alarms/rules.hpp"
#include "agner/introspect/snapshot.hpp"

namespace agner::node {

class alertmanager_notifier {
 public:
  alertmanager_notifier(alarms::alertmanager_rule rule, std::string node, std::int64_t tick_ms,
                        std::function<void(std::string_view)> log);
  ~alertmanager_notifier();
  /// Called every tick with the active alarms: queues what is due (new, changed, cleared, or due
  /// for its resend) for the sender thread, which posts it. Never blocks on the network.
  void update(const std::vector<introspect::alarm_row>& active, std::int64_t now_ms);
  /// Alerts posted and posts that failed, so far.
  std::uint64_t posted() const { return posted_; }

 private:
  struct sent {
    std::string severity, description;
    std::int64_t starts = 0, last_sent = 0, cleared = -1;
  };
  std::string payload(const std::vector<std::pair<std::string, const sent*>>& due, std::int64_t now) const;
  void post(const std::string& body);

  alarms::alertmanager_rule rule_;
  std::string node_, host_, port_, target_;
  std::int64_t tick_ms_;
  std::function<void(std::string_view)> log_;
  std::map<std::string, sent> known_;  // by "id\0source"
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<std::string> outbox_;
  bool stopping_ = false, failing_ = false;
  std::atomic<std::uint64_t> posted_{0};
  std::thread sender_;
};

}  // namespace agner::node
