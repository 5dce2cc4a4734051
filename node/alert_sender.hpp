#pragma once
// The Alertmanager notifier the rules ask for, if any, kept across reloads.
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "agner/alarms/engine.hpp"
#include "agner/alarms/rules.hpp"
#include "alertmanager.hpp"

namespace agner::node {

class alert_sender {
 public:
  /// `node` labels every alert; `log` must be thread-safe (the notifier's I/O thread calls it).
  alert_sender(std::string node, std::function<void(std::string_view)> log);
  /// Follows `r.alertmanager`: none stops the notifier; a new URL starts a fresh one; the same URL
  /// keeps the running one and what it sent. The old notifier stops outside the lock update()
  /// takes, within alertmanager_notifier::stop_wait_ms. Thread-safe.
  void configure(const alarms::rules& r);
  /// Hands the engine's active alarms to the notifier, if any (alertmanager_notifier::update); reads
  /// nothing when there is none. Never waits on the network. Called from one thread (the alarm ticker).
  void update(const alarms::engine& e, std::int64_t now_ms);
  /// Stops the notifier, within alertmanager_notifier::stop_wait_ms. Idempotent; thread-safe.
  void stop();

 private:
  std::string node_;
  std::function<void(std::string_view)> log_;
  std::mutex mutex_;
  std::unique_ptr<alertmanager_notifier> notifier_;
  std::string url_;
};

}  // namespace agner::node
