// matchstream-load's latency histogram (examples/matchstream/tools/histogram.hpp): the percentiles it
// reports, merging the workers' histograms and carrying them as JSON between processes.
#include <doctest/doctest.h>

#include "../../examples/matchstream/tools/histogram.hpp"

using matchstream::tools::histogram;

TEST_CASE("an empty latency histogram reports zero for every percentile") {
  histogram h;
  CHECK(h.count() == 0);
  CHECK(h.percentile_us(0.5) == 0);
  CHECK(h.max_us() == 0);
}

TEST_CASE("latency percentiles are within 3 percent of the true values") {
  histogram h;
  for (std::int64_t us = 1; us <= 100'000; ++us) h.record(us);
  auto within = [](std::uint64_t got, double want) { return got >= want * 0.97 && got <= want * 1.03; };
  CHECK(within(h.percentile_us(0.50), 50'000));
  CHECK(within(h.percentile_us(0.99), 99'000));
  CHECK(h.max_us() == 100'000);
  CHECK(h.percentile_us(1.0) == 100'000);
}

TEST_CASE("small latencies are counted exactly and a negative one counts as zero") {
  histogram h;
  h.record(-5);
  h.record(7);
  h.record(7);
  CHECK(h.percentile_us(0.0) == 0);
  CHECK(h.percentile_us(0.9) == 7);
}

TEST_CASE("merged latency histograms equal one histogram of every value") {
  histogram a, b, all;
  for (std::int64_t us = 0; us < 5000; ++us) {
    (us % 2 ? a : b).record(us * 37);
    all.record(us * 37);
  }
  a.merge(b);
  CHECK(a.count() == all.count());
  CHECK(a.max_us() == all.max_us());
  for (double q : {0.1, 0.5, 0.9, 0.99}) CHECK(a.percentile_us(q) == all.percentile_us(q));
}

TEST_CASE("a latency histogram survives the JSON trip between worker processes") {
  histogram h;
  for (std::int64_t us : {3, 250, 250, 9'000, 1'500'000}) h.record(us);
  histogram back = histogram::from_json(nlohmann::json::parse(h.to_json().dump()));
  CHECK(back.count() == 5);
  CHECK(back.max_us() == 1'500'000);
  for (double q : {0.0, 0.3, 0.5, 0.7, 1.0}) CHECK(back.percentile_us(q) == h.percentile_us(q));
}
