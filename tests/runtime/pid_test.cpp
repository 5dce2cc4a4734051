#include <doctest/doctest.h>

#include "agner/snapshot/pid.hpp"

using agner::parse_pid;
using agner::pid;

TEST_CASE("a pid prints as <0.INDEX.SERIAL> and parses back") {
  pid p{12, 3};
  CHECK(agner::to_string(p) == "<0.12.3>");
  CHECK(fmt::format("{}", p) == "<0.12.3>");
  auto back = parse_pid("<0.12.3>");
  REQUIRE(back.has_value());
  CHECK(*back == p);
}

TEST_CASE("a default pid designates no process") {
  CHECK_FALSE(pid{});
  CHECK(agner::to_string(pid{}) == "<none>");
}

TEST_CASE("text that is not a pid does not parse") {
  for (const char* bad : {"", "<0.1>", "<1.2.3>", "<0.1.2", "0.1.2>", "<0..2>", "<0.1.>", "<0.x.2>",
                          "<0.1.2.3>", "<0.99999999999.1>", "<0.4294967295.0>"})
    CHECK_FALSE(parse_pid(bad).has_value());
}
