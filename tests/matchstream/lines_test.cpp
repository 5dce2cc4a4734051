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
                           "VERSION:1:LISTEN:a:MATCH:m", "", "VERSION",
                           "version:1:WATCH:m", "GET / HTTP/1.1"}) {
    CAPTURE(line);
    auto p = parse_first_line(line);
    CHECK(p.what == first_line::kind::bad);
    CHECK((p.user.empty() && p.match.empty() && p.version.empty()));
  }
}

TEST_CASE("a connect or watch line whose match id breaks the id rule is a bad match id") {
  const std::string long_id(matchstream::max_match_id_bytes + 1, 'm');
  for (std::string id : {std::string(), std::string("x\x1b[2J"), std::string("a\xff"), std::string("a b"), std::string("a/b"),
                         long_id, std::string(60000, 'z')}) {
    CAPTURE(id);
    for (const std::string& line : {"VERSION:1:CONNECT:alice:MATCH:" + id, "VERSION:1:WATCH:" + id}) {
      if (id.empty() && line.ends_with("WATCH:")) continue;  // no id at all: a bad line, below
      auto p = parse_first_line(line);
      CHECK(p.what == first_line::kind::bad_match_id);
      CHECK(p.match == id);
    }
  }
  CHECK(parse_first_line("VERSION:1:WATCH:").what == first_line::kind::bad_watch);
}

TEST_CASE("a watch line without an id or with a field too many is a bad watch line, not a bad connect line") {
  for (const char* line : {"VERSION:1:WATCH:", "VERSION:1:WATCH", "VERSION:1:WATCH:m:x", "VERSION:1:WATCH::"}) {
    CAPTURE(line);
    auto p = parse_first_line(line);
    CHECK(p.what == first_line::kind::bad_watch);
    CHECK((p.user.empty() && p.match.empty() && p.version.empty()));
  }
  CHECK(matchstream::watch_usage == "expected VERSION:1:WATCH:<match-id>");
  CHECK(parse_first_line("VERSION:1:CONNECT::MATCH:x").what == first_line::kind::bad);
}

TEST_CASE("a match id of dots only is refused, as a URL cannot name it") {
  for (std::string id : {std::string("."), std::string(".."), std::string("..."), std::string(matchstream::max_match_id_bytes, '.')}) {
    CAPTURE(id);
    CHECK(matchstream::match_id_error(id) == "match id \"" + id + "\" is all dots (a URL cannot name it)");
    CHECK(parse_first_line("VERSION:1:WATCH:" + id).what == first_line::kind::bad_match_id);
    CHECK(parse_first_line("VERSION:1:CONNECT:bob:MATCH:" + id).what == first_line::kind::bad_match_id);
  }
  CHECK(matchstream::match_id_error("..a").empty());
  CHECK(matchstream::match_id_error("a.").empty());
}

TEST_CASE("a match id of 1 to 64 letters, digits, underscores, dots and dashes keeps the rule") {
  for (std::string id : {std::string("elp-tig-2011-09-10"), std::string("synthetic-0"), std::string("m"), std::string("A.b_9-z"),
                         std::string(matchstream::max_match_id_bytes, 'k')}) {
    CAPTURE(id);
    CHECK(matchstream::match_id_error(id).empty());
    CHECK(parse_first_line("VERSION:1:WATCH:" + id).what == first_line::kind::watch);
    CHECK(parse_first_line("VERSION:1:CONNECT:bob:MATCH:" + id).what == first_line::kind::connect);
  }
}

TEST_CASE("the sentence for a bad match id names the id escaped and cut, and the rule") {
  CHECK(matchstream::match_id_error("x\x1b[2J") == "match id \"x\\x1b[2J\" is not 1 to 64 bytes of A-Z a-z 0-9 _ . -");
  CHECK(matchstream::match_id_error("") == "match id \"\" is not 1 to 64 bytes of A-Z a-z 0-9 _ . -");
  CHECK(matchstream::match_id_error(std::string(60000, 'z')) ==
        "match id \"" + std::string(64, 'z') + "...\" is not 1 to 64 bytes of A-Z a-z 0-9 _ . -");
}

TEST_CASE("a connect line whose user is past 64 bytes, holds a control character or is not UTF-8 is a bad user") {
  for (std::string user : {std::string(65, 'u'), std::string("\x1b[31mred"), std::string("a\x07"), std::string("a\xff"),
                           std::string("a\xc2\x85")}) {
    CAPTURE(user);
    auto p = parse_first_line("VERSION:1:CONNECT:" + user + ":MATCH:m1");
    CHECK(p.what == first_line::kind::bad_user);
    CHECK(p.user == user);
  }
  CHECK(matchstream::user_error("\x1b[31mred") ==
        "user \"\\x1b[31mred\" is not 1 to 64 bytes of UTF-8 without control characters");
  // The match id is checked first: a line bad in both names the id.
  CHECK(parse_first_line("VERSION:1:CONNECT:a\x07:MATCH:b\x07").what == first_line::kind::bad_match_id);
  for (std::string user : {std::string(64, 'u'), std::string("Zoë@example.org"), std::string("u 1")}) {
    CAPTURE(user);
    CHECK(parse_first_line("VERSION:1:CONNECT:" + user + ":MATCH:m1").what == first_line::kind::connect);
  }
}

TEST_CASE("a watcher line that is a JSON object with a string kind is an event") {
  auto w = parse_watcher_line(R"({"kind":"goal","team":"tig","player":7})");
  CHECK(w.error.empty());
  CHECK(w.event["kind"] == "goal");
  CHECK(w.event["player"] == 7);
}

TEST_CASE("a watcher line of well-formed JSON that is not an object with a string kind gets one sentence") {
  for (const char* line : {"[1]", R"({"kind":7})", R"({"team":"tig"})", "null", R"("kind")"}) {
    CAPTURE(line);
    auto w = parse_watcher_line(line);
    CHECK(w.error == "each line must be a JSON object with a \"kind\"");
    CHECK(w.event.is_null());
  }
}

TEST_CASE("a watcher line that is not JSON is refused at the byte the parser stopped") {
  auto w = parse_watcher_line(R"({"kind":"note","t":"\ud800"})");
  CHECK(w.error == "invalid JSON at byte 27: invalid string: surrogate U+D800..U+DBFF must be followed by U+DC00..U+DFFF");
  CHECK(w.event.is_null());
  CHECK(parse_watcher_line("{not json").error == "invalid JSON at byte 3: invalid literal");
  CHECK(parse_watcher_line("").error.starts_with("invalid JSON at byte 1: unexpected end of input"));
  CHECK(parse_watcher_line("{").error.starts_with("invalid JSON at byte 2: "));
  // A NUL byte is no end of input: what follows it is not ignored.
  using namespace std::string_literals;
  CHECK(parse_watcher_line("{\"kind\":\"start\"}\0garbage"s).error == "invalid JSON at byte 17: a NUL byte");
  CHECK(parse_watcher_line("{\"kind\":\"a\0\"}"s).error == "invalid JSON at byte 11: a NUL byte");
  // The parser's own words never echo the line: a control byte in it stays out of the sentence.
  auto c = parse_watcher_line("{\"kind\":\"a\x1b[2J");
  CHECK(c.error.starts_with("invalid JSON at byte "));
  CHECK(c.error.find('\x1b') == std::string::npos);
}

TEST_CASE("a watcher line with a number past a double is refused naming the number") {
  for (const char* number : {"1e400", "-1e400"}) {
    CAPTURE(number);
    auto w = parse_watcher_line(std::string(R"({"kind":"goal","team":"elp","player":)") + number + "}");
    CHECK(w.error == std::string("number ") + number + " is out of range");
    CHECK(w.event.is_null());
  }
}

TEST_CASE("a watcher line with a key twice in one object is refused naming the key") {
  auto w = parse_watcher_line(R"({"kind":"start","kind":"goal"})");
  CHECK(w.error == "key kind appears more than once");
  CHECK(w.event.is_null());
  CHECK(parse_watcher_line(R"({"kind":"note","x":{"a":1,"b":2,"a":3}})").error == "key a appears more than once");
  CHECK(parse_watcher_line("{\"kind\":\"note\",\"a\\n\":1,\"a\\n\":2}").error == "key a\\x0a appears more than once");
  // The same key in two objects, or in an object and its parent, is no duplicate.
  CHECK(parse_watcher_line(R"({"kind":"note","x":{"kind":1},"y":[{"a":1},{"a":2}]})").error.empty());
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
