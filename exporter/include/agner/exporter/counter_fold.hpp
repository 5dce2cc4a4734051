#pragma once
/// Bounds a family of per-key counters on /metrics: the `capacity` keys whose count changed most
/// recently keep a series each; the others are folded into one aggregate, so a scrape stays the
/// same size however many keys were ever seen (e.g. alarm ids: 20,000 ids set then cleared once).
/// Every value it reports is monotonic: a key leaves with its count added to the aggregate, and if
/// it changes again it comes back as a new series counting from what it had when it left.
#include <cstdint>
#include <list>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

namespace agner::exporter {

class counter_fold {
 public:
  /// `capacity`: most keys with a series of their own (at least 1).
  explicit counter_fold(std::size_t capacity);

  struct view {
    std::vector<std::pair<std::string, double>> shown;  ///< key, count since it (re)entered; most recent first
    double folded = 0;                                   ///< counts of every key when it was folded, summed
  };
  /// Takes each key's total now (monotonic per key; keys never disappear) and returns what to
  /// expose. Not thread-safe: one caller at a time. Cost: O(keys) time, O(keys ever seen) memory
  /// (one count per key, as the caller's own totals).
  view update(const std::map<std::string, std::uint64_t>& totals);

 private:
  struct entry {
    std::uint64_t last = 0, offset = 0;
    bool shown = false;
    std::list<std::string>::iterator at;
  };
  std::size_t capacity_;
  std::list<std::string> recent_;  // shown keys, most recently changed first
  std::unordered_map<std::string, entry> keys_;
  double folded_ = 0;
};

}  // namespace agner::exporter
