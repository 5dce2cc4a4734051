#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "agner/ctl/text.hpp"

using agner::ctl::json_line;
using agner::ctl::visible;
using agner::ctl::visible_cut;

TEST_CASE("visible leaves printable ASCII and UTF-8 alone") {
  CHECK(visible("slow_consumer <0.2.0> 50%") == "slow_consumer <0.2.0> 50%");
  CHECK(visible("caf\xc3\xa9 \xe2\x96\x88 \xf0\x9f\x90\x98") == "caf\xc3\xa9 \xe2\x96\x88 \xf0\x9f\x90\x98");
}

TEST_CASE("visible shows C0 controls, ESC and DEL as escapes") {
  CHECK(visible("\x1b]0;title\x07") == "\\x1b]0;title\\x07");
  CHECK(visible("a\nb\tc\rd") == "a\\x0ab\\x09c\\x0dd");
  CHECK(visible(std::string("nul\0x", 5)) == "nul\\x00x");
  CHECK(visible("del\x7f") == "del\\x7f");
}

TEST_CASE("visible shows C1 controls encoded in UTF-8 as code points") {
  CHECK(visible("csi\xc2\x9b" "2J") == "csi\\u009b2J");
  CHECK(visible("\xc2\x80\xc2\x9f\xc2\xa0") == "\\u0080\\u009f\xc2\xa0");
}

TEST_CASE("visible shows bytes that are not UTF-8 as hex escapes") {
  CHECK(visible("\x9b" "2J") == "\\x9b2J");             // a raw 8-bit CSI
  CHECK(visible("\xc0\xaf") == "\\xc0\\xaf");           // overlong
  CHECK(visible("\xed\xa0\x80") == "\\xed\\xa0\\x80");  // a surrogate
  CHECK(visible("cut \xe2\x96") == "cut \\xe2\\x96");   // truncated
}

TEST_CASE("visible_cut keeps a cut on a UTF-8 boundary and marks it") {
  CHECK(visible_cut("short", 10) == "short");
  CHECK(visible_cut("abcdefghij", 5) == "abcd~");
  CHECK(visible_cut("ab\xc3\xa9\xc3\xa9", 4) == "ab~");
  CHECK(visible_cut("\x1b[31m", 6) == "\\x1b[~");
}

TEST_CASE("json_line escapes controls and stays valid JSON") {
  const nlohmann::json j{{"id", "x\x1b[2J\x7f\xc2\x9b"}, {"n", 1}};
  const std::string line = json_line(j);
  CHECK(line == R"({"id":"x\u001b[2J\u007f\u009b","n":1})");
  CHECK(nlohmann::json::parse(line) == j);
  const nlohmann::json bidi = std::string("id \u202eevil\u2028 caf\u00e9");  // an override, a line separator
  CHECK(json_line(bidi) == R"("id \u202eevil\u2028 caf)" "\u00e9\"");
  CHECK(nlohmann::json::parse(json_line(bidi)) == bidi);
}

TEST_CASE("json_line replaces bytes that are not UTF-8") {
  const nlohmann::json j = std::string("a\xff" "b");
  CHECK(json_line(j) == "\"a\xef\xbf\xbd" "b\"");
}
