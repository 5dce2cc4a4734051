// The exporter over real HTTP: what a scrape returns, what it costs, what it refuses.
#include <doctest/doctest.h>

#include <utility>  // before Asio (Boost 1.74's awaitable.hpp needs std::exchange)

#include <boost/asio.hpp>

#include "agner/exporter/exporter.hpp"
#include "scrape.hpp"
#include "support.hpp"

using namespace agner;
using agner::test::eventually;
using agner::test::get;
using agner::test::loopback;
using agner::test::sample;

namespace {

std::size_t lines(const std::string& body) { return static_cast<std::size_t>(std::count(body.begin(), body.end(), '\n')); }

}  // namespace

TEST_CASE("business metrics are created once, read by name, and refused when Prometheus would refuse them") {
  exporter::metrics m;
  auto orders = m.make_counter("orders_total", "Orders matched.", {{"venue", "x"}});
  orders.inc();
  orders.inc(2);
  CHECK(m.make_counter("orders_total", "Orders matched.", {{"venue", "x"}}).value() == 3);  // the same series
  auto depth = m.make_gauge("book_depth", "Orders resting.");
  depth.set(42);
  auto latency = m.make_histogram("match_seconds", "Time to match.", {0.001, 0.01, 0.1});
  latency.observe(0.005);
  latency.observe(0.05);
  CHECK(m.value("orders_total", {{"venue", "x"}}) == 3);
  CHECK(m.value("book_depth") == 42);
  CHECK(m.value("match_seconds_count") == 2);
  CHECK(m.value("match_seconds_sum") == doctest::Approx(0.055));
  CHECK_FALSE(m.value("orders_total", {{"venue", "y"}}));
  CHECK_FALSE(m.value("nothing"));
  CHECK_THROWS_WITH_AS(m.make_counter("2fast", "x"), doctest::Contains("is not valid in Prometheus"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(m.make_gauge("agner_mine", "x"), doctest::Contains("belong to the runtime"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(m.make_gauge("orders_total", "x"), doctest::Contains("already used with another type"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(m.make_counter("ok_total", "x", {{"__name__", "y"}}), doctest::Contains("label name '__name__'"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(m.make_histogram("h_seconds", "x", {1, 0.5}), doctest::Contains("buckets must be increasing"), std::invalid_argument);
}

TEST_CASE("a scrape serves the runtime's counters, the process metrics and business metrics") {
  runtime rt(test::two_schedulers());
  auto business = std::make_shared<exporter::metrics>();
  business->make_counter("orders_total", "Orders matched.").inc(7);
  for (int i = 0; i < 9; ++i) rt.spawn_fn([](context&, message&) {}, spawn_options{.name = i == 0 ? "matcher" : ""});
  auto o = loopback();
  o.processes = {"matcher"};
  exporter::exporter ex(rt, o, business);
  auto [code, body] = get(ex.port());
  CHECK(code == 200);
  CHECK(sample(body, "agner_processes") == 9);
  CHECK(sample(body, "agner_process_limit") == 4194304);
  CHECK(sample(body, R"(agner_build_info{version="0.1.0",node="exptest"})") == 1);
  CHECK(sample(body, R"(agner_run_queue_length{scheduler="2"})") >= 0);
  CHECK(sample(body, R"(agner_named_process_message_queue_length{name="matcher"})") == 0);
  CHECK(sample(body, "orders_total") == 7);
  CHECK(sample(body, "process_resident_memory_bytes") > 0);
  CHECK(sample(body, "process_open_fds") > 0);
  // Counters move between scrapes.
  pid p = *rt.whereis("matcher");
  for (int i = 0; i < 100; ++i) rt.send(p, i);
  CHECK(eventually([&] { return sample(get(ex.port()).second, "agner_messages_delivered_total") >= 100; }));
}

TEST_CASE("a scrape's size does not grow with the number of processes, and it serves nothing but /metrics") {
  runtime rt(test::two_schedulers());
  exporter::exporter ex(rt, loopback());
  const auto small = get(ex.port()).second;
  for (int i = 0; i < 5000; ++i) rt.spawn_fn([](context&, message&) {});
  std::string big;
  REQUIRE(eventually([&] {
    big = get(ex.port()).second;
    return sample(big, "agner_processes") == 5000 && sample(big, R"(agner_message_queue_length_bucket{le="+Inf"})") == 5000;
  }));
  CHECK(lines(big) == lines(small));
  CHECK(get(ex.port(), "/").first == 404);
  CHECK(get(ex.port(), "/etc/passwd").first == 404);
  CHECK(get(ex.port(), std::string(3000, '/')).first == 404);  // the civetweb CVE-2025-55763 shape
  CHECK(get(ex.port()).first == 200);  // and it still serves
}

TEST_CASE("the exporter listens on loopback only, and says why it cannot listen") {
  runtime rt(test::two_schedulers());
  auto o = loopback();
  o.listen = "0.0.0.0:0";
  CHECK_THROWS_WITH_AS(exporter::exporter(rt, o), doctest::Contains("only loopback addresses"), std::runtime_error);
  o.listen = "nonsense";
  CHECK_THROWS_WITH_AS(exporter::exporter(rt, o), doctest::Contains("expected ADDR:PORT"), std::runtime_error);
  exporter::exporter first(rt, loopback());
  o.listen = fmt::format("127.0.0.1:{}", first.port());
  CHECK_THROWS_WITH_AS(exporter::exporter(rt, o), doctest::Contains("Address already in use"), std::runtime_error);
  o = loopback();
  o.processes.assign(51, "x");
  CHECK_THROWS_WITH_AS(exporter::exporter(rt, o), doctest::Contains("at most 50 names"), std::runtime_error);
  o.processes = {"ledger", "slow_consumer", "ledger"};  // two sets of series with one identity
  CHECK_THROWS_WITH_AS(exporter::exporter(rt, o), doctest::Contains("\"ledger\" twice"), std::runtime_error);
}
