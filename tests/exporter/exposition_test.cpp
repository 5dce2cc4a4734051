// The text exposition format: what the application may register, how its text is escaped, and
// that promtool accepts a scrape full of hostile strings.
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "agner/exporter/exporter.hpp"
#include "scrape.hpp"
#include "support.hpp"

using namespace agner;
using agner::test::get;
using agner::test::loopback;
using agner::test::sample;

TEST_CASE("names, label names and text that Prometheus would refuse are refused at registration, naming the culprit") {
  exporter::metrics m;
  CHECK_THROWS_WITH_AS(m.make_counter("orders total", "x"), doctest::Contains("metric name 'orders total' is not valid"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(m.make_counter("", "x"), doctest::Contains("metric name '' is not valid"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(m.make_gauge("a\nb", "x"), doctest::Contains("is not valid in Prometheus"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(m.make_gauge("ok", "x", {{"bad-label", "v"}}), doctest::Contains("label name 'bad-label'"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(m.make_gauge("ok", "x", {{"__reserved", "v"}}), doctest::Contains("no __ prefix"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(m.make_gauge("ok", "x", {{"1st", "v"}}), doctest::Contains("label name '1st'"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(m.make_gauge("ok", "bad \xff help"), doctest::Contains("help text is not valid UTF-8"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(m.make_gauge("ok", "x", {{"venue", "\xc0\xaf"}}), doctest::Contains("label 'venue' is not valid UTF-8"),
                       std::invalid_argument);
  CHECK_NOTHROW(m.make_gauge("ok:with_colon", "x", {{"_under", "anything \"quoted\" \\ \n \x1b[2J é"}}));
}

TEST_CASE("help text is escaped on output, label values once, and promtool accepts a scrape of hostile strings") {
  CHECK(exporter::escape_help("plain") == "plain");
  CHECK(exporter::escape_help("a\nb\\c \"q\"") == R"(a\nb\\c "q")");
  runtime rt(test::two_schedulers());
  auto business = std::make_shared<exporter::metrics>();
  business->make_counter("orders_total", "Orders matched.\nCounted once per fill, back\\slash.", {{"venue", "x\"l\\o\nn\x1b]0;t\x07"}}).inc();
  business->make_gauge("book_depth", "Line one\nline two\n", {{"side", "bid é ✓"}}).set(3);
  business->make_histogram("match_seconds", "\\n is not a line feed\n", {0.1, 1}, {{"q", "\\n"}}).observe(0.5);
  exporter::exporter ex(rt, loopback(), business);
  const auto body = get(ex.port()).second;
  CHECK(body.find("# HELP orders_total Orders matched.\\nCounted once per fill, back\\\\slash.\n") != std::string::npos);
  CHECK(body.find("# HELP book_depth Line one\\nline two\\n\n") != std::string::npos);
  CHECK(body.find("# HELP match_seconds \\\\n is not a line feed\\n\n") != std::string::npos);
  CHECK(sample(body, R"(orders_total{venue="x\"l\\o\nn)"
                     "\x1b]0;t\x07"
                     R"("})") == 1);  // escaped once by the serializer, not twice
  CHECK(sample(body, R"(match_seconds_count{q="\\n"})") == 1);
  // Every line is a comment or ends with a value: no help text split a line.
  std::istringstream in(body);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) continue;
    const auto value = line.substr(line.rfind(' ') + 1);
    CHECK_MESSAGE((value == "+Inf" || value == "NaN" || std::strtod(value.c_str(), nullptr) != 0 || value == "0"), line);
  }
  const std::string file = "/tmp/agner-exposition-" + std::to_string(::getpid()) + ".txt";
  std::ofstream(file) << body;
  const int rc = std::system(("promtool check metrics < " + file + " > " + file + ".out 2>&1").c_str());
  std::ifstream out(file + ".out");
  const std::string said((std::istreambuf_iterator<char>(out)), std::istreambuf_iterator<char>());
  CHECK_MESSAGE(rc == 0, "promtool check metrics: ", said);
  std::remove(file.c_str());
  std::remove((file + ".out").c_str());
}

TEST_CASE("the duplicate-series check flags two samples with one name and label set") {
  using agner::test::duplicate_series;
  CHECK(duplicate_series("# HELP a x\na{l=\"1\"} 1\na{l=\"2\"} 1\nb 2\n").empty());
  const auto twice = duplicate_series("a{l=\"1\"} 1\nb 2\na{l=\"1\"} 3\n");
  REQUIRE(twice.size() == 1);
  CHECK(twice.front() == "a{l=\"1\"}");
}
