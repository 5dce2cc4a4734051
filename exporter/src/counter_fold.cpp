#include "agner/exporter/counter_fold.hpp"

#include <algorithm>

namespace agner::exporter {

counter_fold::counter_fold(std::size_t capacity) : capacity_(std::max<std::size_t>(capacity, 1)) {}

counter_fold::view counter_fold::update(const std::map<std::string, std::uint64_t>& totals) {
  for (const auto& [key, count] : totals) {
    auto [it, fresh] = keys_.try_emplace(key);
    auto& e = it->second;
    if (!fresh && count == e.last) continue;
    e.last = count;
    if (e.shown) recent_.erase(e.at);
    e.at = recent_.insert(recent_.begin(), key);
    e.shown = true;
  }
  while (recent_.size() > capacity_) {
    auto& e = keys_.at(recent_.back());
    folded_ += static_cast<double>(e.last - e.offset);
    e.offset = e.last;
    e.shown = false;
    recent_.pop_back();
  }
  view v;
  v.folded = folded_;
  v.shown.reserve(recent_.size());
  for (const auto& key : recent_) {
    const auto& e = keys_.at(key);
    v.shown.emplace_back(key, static_cast<double>(e.last - e.offset));
  }
  return v;
}

}  // namespace agner::exporter
