// Transition counts per alarm id stay bounded in the engine and in the exporter's fold, and the
// exported counters add up to every transition exactly, none ever going down.
#include <doctest/doctest.h>

#include "agner/alarms/engine.hpp"
#include "agner/exporter/counter_fold.hpp"

using namespace agner;
using namespace agner::alarms;

namespace {

rules no_rules() {
  auto r = parse_rules(R"({"version": 1})", "test.json");
  REQUIRE(std::holds_alternative<rules>(r));
  return std::get<rules>(r);
}

/// What /metrics shows: one value per shown id plus the folded total.
struct scrape {
  std::map<std::string, double> series;
  double folded = 0;
  double sum() const {
    double s = folded;
    for (auto& [id, n] : series) s += n;
    return s;
  }
};

scrape scraped(const engine& e, exporter::counter_fold& fold) {
  const auto counts = e.transitions_total();
  auto v = fold.update(counts.by_id, counts.evicted);
  scrape s;
  s.folded = v.folded;
  for (auto& [id, n] : v.shown) s.series.emplace(id, n);
  return s;
}

/// Every series still shown is at least what it was, and so is the folded total.
void check_monotonic(const scrape& before, const scrape& after) {
  CHECK(after.folded >= before.folded);
  for (auto& [id, n] : after.series) {
    auto it = before.series.find(id);
    if (it != before.series.end()) CHECK_MESSAGE(n >= it->second, id);
  }
}

}  // namespace

TEST_CASE("20,000 alarm ids set then cleared keep the engine at max_transition_ids ids and every transition counted") {
  engine e(no_rules(), {});
  exporter::counter_fold fold(100);
  scrape last;
  std::uint64_t transitions = 0;
  std::int64_t now = 0;
  for (int lo = 0; lo < 20000; lo += 500) {
    for (int i = lo; i < lo + 500; ++i) {
      e.set("order_" + std::to_string(i), severity::warning, "x", ++now);
      CHECK(e.clear("order_" + std::to_string(i), ++now));
      transitions += 2;
    }
    const auto counts = e.transitions_total();
    CHECK(counts.by_id.size() <= engine::max_transition_ids);
    std::uint64_t sum = counts.evicted;
    for (auto& [id, n] : counts.by_id) sum += n;
    CHECK(sum == transitions);
    auto s = scraped(e, fold);
    CHECK(s.series.size() <= 100);
    CHECK(s.sum() == static_cast<double>(transitions));
    check_monotonic(last, s);
    last = s;
  }
  CHECK(e.transitions_total().by_id.size() == engine::max_transition_ids);
  CHECK(e.transitions_total().evicted == 40000 - 2 * engine::max_transition_ids);
}

TEST_CASE("an evicted alarm id that changes again counts from 0 in the engine, and its exported series never goes down") {
  engine e(no_rules(), {});
  exporter::counter_fold fold(2 * engine::max_transition_ids);  // room for "hot" to stay shown
  std::int64_t now = 0;
  for (int i = 0; i < 3; ++i) {  // 6 transitions for "hot"
    e.set("hot", severity::minor, "x", ++now);
    e.clear("hot", ++now);
  }
  const auto first = scraped(e, fold);
  REQUIRE(first.series.count("hot") == 1);
  CHECK(first.series.at("hot") == 6);
  // Between two scrapes "hot" changes, is evicted by max_transition_ids other ids, and changes again.
  e.set("hot", severity::minor, "x", ++now);
  for (std::size_t i = 0; i < engine::max_transition_ids; ++i) e.set("other_" + std::to_string(i), severity::warning, "x", ++now);
  CHECK(e.transitions_total().by_id.count("hot") == 0);
  CHECK(e.transitions_total().evicted == 7);
  e.clear("hot", ++now);
  CHECK(e.transitions_total().by_id.at("hot") == 1);
  const auto second = scraped(e, fold);
  check_monotonic(first, second);
  // Its series is credited the 1 it surely counted since; the set before the eviction is in folded.
  CHECK(second.series.at("hot") == 7);
  CHECK(second.sum() == static_cast<double>(7 + 1 + engine::max_transition_ids));
}
