#pragma once
/// Bounds a family of per-key counters on /metrics: the `capacity` keys whose count changed most
/// recently keep a series each; the others are folded into one aggregate, so a scrape stays the
/// same size however many keys were ever seen (e.g. alarm ids: 20,000 ids set then cleared once).
/// Every value it reports is monotonic, and the shown values plus the aggregate are exactly the
/// caller's total: a key leaves with its count added to the aggregate, and if it changes again it
/// comes back as a new series counting from what it had when it left.
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
    double folded = 0;                                   ///< every other count: the caller's total minus the shown ones
  };
  /// Takes each key's total now and `evicted`, the caller's own sum of the counts of keys it no
  /// longer lists (monotonic), and returns what to expose. A key may disappear from `totals` (its
  /// count then moved into `evicted`) and come back counting again from 0: its series, if shown,
  /// never goes down (it is credited what the key counts now). The key's own counts are credited to
  /// its series only where they are certain; the rest lands in `folded`, which is the caller's total
  /// (sum of `totals` plus `evicted`) minus the shown values, so it never goes down either.
  /// Not thread-safe: one caller at a time. Cost: O(keys in `totals`) time and memory; it keeps
  /// nothing of a key that left `totals`.
  view update(const std::map<std::string, std::uint64_t>& totals, std::uint64_t evicted = 0);
  /// How many keys it remembers: those of the last `totals`. O(1).
  std::size_t keys_kept() const noexcept { return keys_.size(); }

 private:
  struct entry {
    std::uint64_t last = 0;   // the key's total at the last update
    std::uint64_t shown = 0;  // its series' value, when shown
    bool is_shown = false;
    std::list<std::string>::iterator at;
    std::uint64_t seen = 0;  // the update that last found it in `totals`
  };
  std::size_t capacity_;
  std::list<std::string> recent_;  // shown keys, most recently changed first
  std::unordered_map<std::string, entry> keys_;  // the keys of the last `totals`
  std::uint64_t updates_ = 0;
};

}  // namespace agner::exporter
