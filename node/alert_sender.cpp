#include "alert_sender.hpp"

#include <utility>

namespace agner::node {

alert_sender::alert_sender(std::string node, std::function<void(std::string_view)> log)
    : node_(std::move(node)), log_(std::move(log)) {}

void alert_sender::configure(const alarms::rules& r) {
  std::unique_ptr<alertmanager_notifier> old;  // stopped outside the lock the ticker takes
  std::lock_guard lock(mutex_);
  if (!r.alertmanager) {
    old = std::move(notifier_);
    url_.clear();
  } else if (!notifier_ || url_ != r.alertmanager->url) {
    url_ = r.alertmanager->url;
    old = std::exchange(notifier_, std::make_unique<alertmanager_notifier>(*r.alertmanager, node_, r.tick_ms, log_));
  }
}

void alert_sender::update(const alarms::engine& e, std::int64_t now_ms) {
  std::lock_guard lock(mutex_);  // update() never waits on the network
  if (notifier_) notifier_->update(e.active(), now_ms);
}

void alert_sender::stop() {
  std::unique_ptr<alertmanager_notifier> notifier;
  std::lock_guard lock(mutex_);
  notifier = std::move(notifier_);
  url_.clear();
}

}  // namespace agner::node
