// A connection's first line and a watcher's event lines, parsed apart from processes (lines.hpp):
// what the client and watcher processes act on and what the fuzz targets feed.
#include <doctest/doctest.h>

#include <string>

#include "lines.hpp"

using matchstream::first_line;
using matchstream::parse_first_line;
using matchstream::parse_watcher_line;

TEST_CASE("a connect line names its user and its match") {
  auto p = parse_first_line("VERSION:1:CONNECT:alice:MATCH:elp-tig-2011-09-10");
  CHECK(p.what == first_line::kind::connect);
  CHECK(p.user == "alice");
  CHECK(p.match == "elp-tig-2011-09-10");
}

TEST_CASE("a watch line names its match") {
  auto p = parse_first_line("VERSION:1:WATCH:elp-tig-2011-09-10");
  CHECK(p.what == first_line::kind::watch);
  CHECK(p.match == "elp-tig-2011-09-10");
}

TEST_CASE("a first line with another version is an unsupported version whatever follows") {
  auto p = parse_first_line("VERSION:2:CONNECT:alice:MATCH:m:and:more:fields:than:seven");
  CHECK(p.what == first_line::kind::unsupported_version);
  CHECK(p.version == "2");
  CHECK(parse_first_line("VERSION:").what == first_line::kind::unsupported_version);
}

TEST_CASE("a first line with an empty user, a field too many or too few, or another word is bad") {
  for (const char* line : {"VERSION:1:CONNECT::MATCH:m", "VERSION:1:CONNECT:a:MATCH:m:x", "VERSION:1:CONNECT:a:MATCH",
                           "VERSION:1:WATCH:", "VERSION:1:WATCH:m:x", "VERSION:1:LISTEN:a:MATCH:m", "", "VERSION",
                           "version:1:WATCH:m", "GET / HTTP/1.1"}) {
    CAPTURE(line);
    auto p = parse_first_line(line);
    CHECK(p.what == first_line::kind::bad);
    CHECK((p.user.empty() && p.match.empty() && p.version.empty()));
  }
}

TEST_CASE("a connect line with an empty match id parses and names no match") {
  auto p = parse_first_line("VERSION:1:CONNECT:alice:MATCH:");
  CHECK(p.what == first_line::kind::connect);
  CHECK(p.match.empty());
}

TEST_CASE("a watcher line that is a JSON object with a string kind is an event") {
  auto w = parse_watcher_line(R"({"kind":"goal","team":"tig","player":7})");
  CHECK(w.error.empty());
  CHECK(w.event["kind"] == "goal");
  CHECK(w.event["player"] == 7);
}

TEST_CASE("a watcher line that is not an object with a string kind gets one sentence") {
  for (const char* line : {"", "{", "[1]", R"({"kind":7})", R"({"team":"tig"})", "null", R"("kind")"}) {
    CAPTURE(line);
    auto w = parse_watcher_line(line);
    CHECK(w.error == "each line must be a JSON object with a \"kind\"");
    CHECK(w.event.is_null());
  }
}

TEST_CASE("a watcher line nested deeper than the bound is refused before it is parsed") {
  const std::string deep = R"({"kind":"goal","x":)" + std::string(40000, '[') + std::string(40000, ']') + "}";
  auto w = parse_watcher_line(deep);
  CHECK(w.error == "the line nests arrays and objects deeper than 16");
  std::string ok = R"({"kind":"goal","x":)" + std::string(15, '[') + std::string(15, ']') + "}";
  CHECK(parse_watcher_line(ok).error.empty());
  // Brackets inside a string are text, not nesting.
  CHECK(parse_watcher_line(R"({"kind":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["})").error.empty());
}
