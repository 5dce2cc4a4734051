#pragma once
// A latency histogram for the MatchStream tools: microseconds in log-linear buckets (32 a power of two,
// so a percentile is within ~3 % of the true value), the exact maximum beside them. Mergeable, and
// carried between matchstream-load's worker processes as JSON.
#include <algorithm>
#include <bit>
#include <cstdint>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace matchstream::tools {

/// Counts of microsecond values. Not thread-safe (one per worker thread; merge to combine).
/// Cost: record is O(1) with no allocation; percentile and to_json scan the ~1,200 buckets.
class histogram {
 public:
  histogram() : counts_(bucket_count, 0) {}

  /// Counts one value in microseconds (negative values, from clock skew, count as 0).
  void record(std::int64_t us) {
    std::uint64_t v = us < 0 ? 0 : static_cast<std::uint64_t>(us);
    ++counts_[bucket_of(v)];
    ++total_;
    max_ = std::max(max_, v);
  }

  /// Adds every count of `o` to this one.
  void merge(const histogram& o) {
    for (std::size_t i = 0; i < bucket_count; ++i) counts_[i] += o.counts_[i];
    total_ += o.total_;
    max_ = std::max(max_, o.max_);
  }

  void clear() {
    std::fill(counts_.begin(), counts_.end(), 0);
    total_ = 0;
    max_ = 0;
  }

  std::uint64_t count() const { return total_; }
  std::uint64_t max_us() const { return max_; }

  /// The value below which a fraction q (0..1) of the counts lie, in microseconds: the upper edge
  /// of the bucket holding it, capped at the maximum seen. 0 when empty.
  std::uint64_t percentile_us(double q) const {
    if (total_ == 0) return 0;
    auto rank = static_cast<std::uint64_t>(q * static_cast<double>(total_));
    if (rank >= total_) rank = total_ - 1;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < bucket_count; ++i) {
      seen += counts_[i];
      if (seen > rank) return std::min(upper_edge(i), max_);
    }
    return max_;
  }

  /// {"buckets":[[index,count],...],"max_us":N} with only the buckets that hold something.
  nlohmann::json to_json() const {
    nlohmann::json buckets = nlohmann::json::array();
    for (std::size_t i = 0; i < bucket_count; ++i)
      if (counts_[i]) buckets.push_back({i, counts_[i]});
    return {{"buckets", std::move(buckets)}, {"max_us", max_}};
  }

  /// The inverse of to_json; throws nlohmann::json::exception on a malformed object.
  static histogram from_json(const nlohmann::json& j) {
    histogram h;
    for (const auto& b : j.at("buckets")) {
      auto i = b.at(0).get<std::size_t>();
      auto c = b.at(1).get<std::uint64_t>();
      if (i >= bucket_count) continue;
      h.counts_[i] += c;
      h.total_ += c;
    }
    h.max_ = j.at("max_us").get<std::uint64_t>();
    return h;
  }

 private:
  static constexpr unsigned sub_bits = 5;  // 32 buckets a power of two
  static constexpr std::size_t bucket_count = (64 - sub_bits) * (1u << sub_bits) + (1u << sub_bits);

  static std::size_t bucket_of(std::uint64_t v) {
    if (v < (2u << sub_bits)) return static_cast<std::size_t>(v);
    unsigned msb = 63 - static_cast<unsigned>(std::countl_zero(v));
    unsigned shift = msb - sub_bits;
    return (shift + 1) * (1u << sub_bits) + ((v >> shift) & ((1u << sub_bits) - 1));
  }
  static std::uint64_t upper_edge(std::size_t b) {
    if (b < (2u << sub_bits)) return b;
    std::size_t shift = b / (1u << sub_bits) - 1;
    std::uint64_t sub = b % (1u << sub_bits);
    return (((1ull << sub_bits) + sub + 1) << shift) - 1;
  }

  std::vector<std::uint64_t> counts_;
  std::uint64_t total_ = 0;
  std::uint64_t max_ = 0;
};

}  // namespace matchstream::tools
