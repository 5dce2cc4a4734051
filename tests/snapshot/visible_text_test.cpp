#include <doctest/doctest.h>

#include "agner/snapshot/visible_text.hpp"

using agner::visible_lines;
using agner::visible_text;

TEST_CASE("visible_text shows control bytes, C1 controls and malformed UTF-8, and passes printable text") {
  CHECK(visible_text("plain text, é and 日本") == "plain text, é and 日本");
  CHECK(visible_text("a\nagner: FORGED") == "a\\x0aagner: FORGED");
  CHECK(visible_text("\x1b[31mred\x07\x7f") == "\\x1b[31mred\\x07\\x7f");
  CHECK(visible_text("csi \xc2\x9b" "31m") == "csi \\u009b31m");  // U+009B, a C1 control
  CHECK(visible_text("bad \xff and \xc0\xaf") == "bad \\xff and \\xc0\\xaf");  // not UTF-8; overlong
  CHECK(visible_text("\xed\xa0\x80") == "\\xed\\xa0\\x80");  // a surrogate
  CHECK(visible_text("cut \xe6\x97") == "cut \\xe6\\x97");  // truncated at the end
  CHECK(visible_text(std::string_view("nul\0x", 5)) == "nul\\x00x");
  // What reorders or splits the rest of a line on a terminal (a "Trojan Source" override, say).
  CHECK(visible_text("id \u202eevil\u202c") == "id \\u202eevil\\u202c");
  CHECK(visible_text("\u2066\u2069\u061c\u2028\u2029\ufeff") == "\\u2066\\u2069\\u061c\\u2028\\u2029\\ufeff");
  CHECK(visible_text("\u2027\u202f\u2065\u206a") == "\u2027\u202f\u2065\u206a");  // neighbours pass
}

TEST_CASE("visible_lines keeps the line breaks of a message that is several lines and escapes within each") {
  CHECK(visible_lines("errors:\n  f\x1b:1:2: bad\n  g") == "errors:\n  f\\x1b:1:2: bad\n  g");
  CHECK(visible_lines("") == "");
  CHECK(visible_lines("one\n") == "one\n");
}
