#pragma once
/// The board: what every live match looks like now, for readers outside the match processes (the
/// HTTP API). Each match process puts its own summary after each event and each (un)subscribe.
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace matchstream {

/// One match as it stands.
struct match_summary {
  std::string id;
  std::string home, visit;  ///< team codes, empty before `start`
  int home_score = 0, visit_score = 0;
  std::string period;            ///< "first", "second", … as the watcher sent it
  std::int64_t seq = 0;          ///< the latest event's sequence number
  std::size_t subscribers = 0;   ///< clients subscribed now
  bool ended = false;
};

/// Thread contract: any thread. Cost: one mutex and a map operation per call; list() copies.
class board {
 public:
  void put(match_summary s) {
    std::lock_guard lock(mutex_);
    matches_[s.id] = std::move(s);
  }
  void erase(const std::string& id) {
    std::lock_guard lock(mutex_);
    matches_.erase(id);
  }
  /// Every match, ordered by id.
  std::vector<match_summary> list() const {
    std::lock_guard lock(mutex_);
    std::vector<match_summary> out;
    out.reserve(matches_.size());
    for (const auto& [id, s] : matches_) out.push_back(s);
    return out;
  }
  std::optional<match_summary> get(const std::string& id) const {
    std::lock_guard lock(mutex_);
    auto it = matches_.find(id);
    if (it == matches_.end()) return std::nullopt;
    return it->second;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, match_summary> matches_;
};

}  // namespace matchstream
