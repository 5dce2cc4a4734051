// The values rules read on a tick: system metrics over the last two samples, business metrics by name.
#include <doctest/doctest.h>

#include <string>

#include "agner/alarms/metric_reader.hpp"

using namespace agner;

TEST_CASE("the metric reader gives a rate over its last two samples and business metrics by name") {
  introspect::node_info first;
  first.messages.dead_letters = 10;
  std::string asked;
  alarms::metric_reader reader(first, 1000, [&](const std::string& name, const alarms::metric_reader::labels& l) {
    asked = name + (l.count("shard") ? "{" + l.at("shard") + "}" : "");
    return std::optional<double>(7);
  });
  CHECK_FALSE(reader.read("dead_letters_per_s", {}));  // nothing sampled yet
  auto now = first;
  now.messages.dead_letters = 30;
  now.process_count = 5;
  reader.sample(now, 3000);  // 20 over 2 s
  CHECK(reader.read("dead_letters_per_s", {}).value_or(-1) == doctest::Approx(10));
  CHECK(reader.read("processes", {}).value_or(-1) == 5);
  now.messages.dead_letters = 31;
  reader.sample(now, 3500);  // the rate is over the last interval only: 1 over 0.5 s
  CHECK(reader.read("dead_letters_per_s", {}).value_or(-1) == doctest::Approx(2));
  CHECK(reader.read("business:orders_total", {{"shard", "3"}}).value_or(-1) == 7);
  CHECK(asked == "orders_total{3}");
}

TEST_CASE("a per-process metric or an unknown one has no value in the metric reader, nor a business one without a lookup") {
  alarms::metric_reader reader({}, 0, {});
  reader.sample({}, 250);
  CHECK_FALSE(reader.read("process:message_queue_len", {}));
  CHECK_FALSE(reader.read("process:oldest_message_age_ms", {}));
  CHECK_FALSE(reader.read("cpu", {}));
  CHECK_FALSE(reader.read("business:orders_total", {}));
  CHECK(reader.read("run_queue", {}).value_or(-1) == 0);
}
