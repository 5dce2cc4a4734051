// The exporter and the alarms read the node's one snapshot per tick (introspect::collector): a
// scrape and an alarm rule never disagree about a tick's figures.
#include <doctest/doctest.h>

#include "agner/alarms/metric_reader.hpp"
#include "agner/exporter/exporter.hpp"
#include "agner/introspect/collector.hpp"
#include "scrape.hpp"
#include "support.hpp"

using namespace agner;
using agner::test::get;
using agner::test::loopback;
using agner::test::sample;

TEST_CASE("a scrape and the alarms read the same snapshot, so they agree until the next tick") {
  runtime rt(test::two_schedulers());
  for (int i = 0; i < 3; ++i) rt.spawn_fn([](context&, message&) {});
  introspect::collector snapshots(rt, {});  // no thread: this test is the node's tick
  exporter::exporter ex(snapshots, loopback());
  alarms::metric_reader reader(snapshots.latest()->node, 0, {});
  auto tick = [&](std::int64_t at_ms) { reader.sample(snapshots.tick()->node, at_ms); };
  auto scraped = [&] { return sample(get(ex.port()).second, "agner_processes"); };
  tick(1000);
  CHECK(scraped() == 3);
  CHECK(reader.read("processes", {}) == 3);
  for (int i = 0; i < 5; ++i) rt.spawn_fn([](context&, message&) {});
  REQUIRE(rt.process_count() == 8);
  // The runtime has moved on; both readers still show the last tick, the same figure.
  CHECK(scraped() == 3);
  CHECK(reader.read("processes", {}) == 3);
  tick(2000);
  CHECK(scraped() == 8);
  CHECK(reader.read("processes", {}) == 8);
}
