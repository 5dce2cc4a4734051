// counter_fold: per-key counters bounded on /metrics, every reported value monotonic.
#include <doctest/doctest.h>

#include "agner/exporter/counter_fold.hpp"

using agner::exporter::counter_fold;

namespace {

double shown(const counter_fold::view& v, const std::string& key) {
  for (auto& [k, n] : v.shown)
    if (k == key) return n;
  return -1;
}

}  // namespace

TEST_CASE("a counter fold shows the keys that changed last and folds the rest, losing no count") {
  counter_fold fold(2);
  std::map<std::string, std::uint64_t> totals{{"a", 1}, {"b", 2}};
  auto v = fold.update(totals);
  CHECK(v.shown.size() == 2);
  CHECK(v.folded == 0);
  totals["c"] = 5;  // a new key pushes out the one that changed longest ago
  totals["b"] = 3;
  v = fold.update(totals);
  CHECK(v.shown.size() == 2);
  CHECK(shown(v, "a") == -1);
  CHECK(shown(v, "b") == 3);
  CHECK(shown(v, "c") == 5);
  CHECK(v.folded == 1);
  // "a" changes again: it comes back counting from what it had when it left, and the aggregate
  // never goes down.
  totals["a"] = 4;
  v = fold.update(totals);
  CHECK(shown(v, "a") == 3);
  CHECK(v.folded == 1 + 3);  // "b" (3) left
  double sum = v.folded;
  for (auto& [k, n] : v.shown) sum += n;
  CHECK(sum == 4 + 3 + 5);
}

TEST_CASE("a counter fold stays at its capacity however many keys it has seen") {
  counter_fold fold(100);
  std::map<std::string, std::uint64_t> totals;
  double last_folded = 0;
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 4000; ++i) totals["id_" + std::to_string(round * 4000 + i)] = 2;
    auto v = fold.update(totals);
    CHECK(v.shown.size() == 100);
    CHECK(v.folded >= last_folded);
    last_folded = v.folded;
    double sum = v.folded;
    for (auto& [k, n] : v.shown) sum += n;
    CHECK(sum == 2.0 * totals.size());
  }
}

TEST_CASE("a counter fold forgets keys its caller evicted, and their counts stay in the aggregate") {
  counter_fold fold(2);
  auto v = fold.update({{"a", 4}, {"b", 1}, {"c", 2}});  // one update: the last keys in order are shown, "a" is folded
  CHECK(v.shown.size() == 2);
  CHECK(v.folded == 4);
  // The caller evicts "a" (4) and "c" (which counted 3 more before it left): 7 move to `evicted`.
  v = fold.update({{"b", 1}}, 4 + 5);
  CHECK(fold.keys_kept() == 1);
  CHECK(shown(v, "c") == -1);
  CHECK(shown(v, "b") == 1);
  CHECK(v.folded == 9);
  // "c" comes back counting from 0: a new series, and the sum is still exact.
  v = fold.update({{"b", 1}, {"c", 1}}, 9);
  CHECK(shown(v, "c") == 1);
  CHECK(v.folded == 9);
  CHECK(fold.keys_kept() == 2);
}

TEST_CASE("a shown key that its caller evicted and that came back from 0 keeps its series going up") {
  counter_fold fold(10);
  auto v = fold.update({{"a", 5}});
  CHECK(shown(v, "a") == 5);
  v = fold.update({{"a", 2}}, 6);  // "a" counted 1 more, was evicted (6), then counted 2
  CHECK(shown(v, "a") == 5 + 2);
  CHECK(v.folded == 1);  // the one it counted before the eviction, not credited to its series
  CHECK(v.folded + shown(v, "a") == 6 + 2);
}
