#include "agner/exporter/counter_fold.hpp"

#include <algorithm>

namespace agner::exporter {

counter_fold::counter_fold(std::size_t capacity) : capacity_(std::max<std::size_t>(capacity, 1)) {}

counter_fold::view counter_fold::update(const std::map<std::string, std::uint64_t>& totals, std::uint64_t evicted) {
  ++updates_;
  std::uint64_t total = evicted;
  for (const auto& [key, count] : totals) {
    total += count;
    auto [it, fresh] = keys_.try_emplace(key);
    auto& e = it->second;
    e.seen = updates_;
    if (!fresh && count == e.last) continue;
    // What this key surely counted since the last update: all of it when new, or when lower than
    // before (the caller evicted it and it came back from 0); else the difference.
    const std::uint64_t credit = fresh || count < e.last ? count : count - e.last;
    e.last = count;
    if (credit == 0) continue;
    if (e.is_shown) {
      e.shown += credit;
      recent_.splice(recent_.begin(), recent_, e.at);
    } else {
      e.shown = credit;
      e.is_shown = true;
      e.at = recent_.insert(recent_.begin(), key);
    }
  }
  // Keys the caller no longer lists: their counts are in `evicted` now.
  for (auto it = keys_.begin(); it != keys_.end();) {
    if (it->second.seen == updates_) {
      ++it;
      continue;
    }
    if (it->second.is_shown) recent_.erase(it->second.at);
    it = keys_.erase(it);
  }
  while (recent_.size() > capacity_) {
    keys_.at(recent_.back()).is_shown = false;
    recent_.pop_back();
  }
  view v;
  v.shown.reserve(recent_.size());
  std::uint64_t shown = 0;
  for (const auto& key : recent_) {
    const auto& e = keys_.at(key);
    shown += e.shown;
    v.shown.emplace_back(key, static_cast<double>(e.shown));
  }
  v.folded = static_cast<double>(total >= shown ? total - shown : 0);  // only a caller breaking the contract gets 0
  return v;
}

}  // namespace agner::exporter
