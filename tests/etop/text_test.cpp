// Text from the node is data, never control: printable(), display widths and cuts, with hostile strings.
#include <doctest/doctest.h>

#include <string>

#include "agner/etop/format.hpp"
#include "agner/etop/render.hpp"
#include "agner/etop/text.hpp"

using namespace agner;
using namespace agner::etop;
using namespace std::string_literals;

namespace {

/// True when `s` holds no byte a terminal would act on: no C0 control, no DEL, no C1 control.
bool inert(const std::string& s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x20 || b == 0x7F) return false;
    if (b == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) >= 0x80 &&
        static_cast<unsigned char>(s[i + 1]) < 0xA0)
      return false;
  }
  return true;
}

}  // namespace

TEST_CASE("printable shows escape sequences, bells and line feeds as visible escapes") {
  CHECK(printable("\x1b]0;title\x07") == "\\x1b]0;title\\x07");
  CHECK(printable("\x1b[2J\x1b[H") == "\\x1b[2J\\x1b[H");
  CHECK(printable("two\nlines\r\n") == "two\\nlines\\r\\n");
  CHECK(printable("a\tb") == "a\\tb");
  CHECK(printable("del\x7f") == "del\\x7f");
  CHECK(printable("nul"s + '\0' + "x") == "nul\\x00x");
  CHECK(printable("\xc2\x9b" "31m") == "\\u009b31m");  // C1 CSI, the 8-bit ESC [
  CHECK(printable("\xe2\x80\xae" "evil") == "\\u202eevil");  // right-to-left override
  CHECK(printable("line\xe2\x80\xa8sep") == "line\\u2028sep");
}

TEST_CASE("printable keeps ordinary text, accents, CJK and etop's own symbols as they are") {
  for (const std::string s : {"slow_consumer", "café", "工作者", "MSGQ▼", "▁▂▃█", "<…>", ""}) CHECK(printable(s) == s);
  CHECK(printable(printable("\x1b[31m\xff")) == printable("\x1b[31m\xff"));  // idempotent
}

TEST_CASE("printable replaces invalid UTF-8 byte by byte, and never passes a raw control through") {
  CHECK(printable("\xff") == "\xEF\xBF\xBD");
  CHECK(printable("a\xc3") == "a\xEF\xBF\xBD");                       // truncated sequence
  CHECK(printable("\xc0\xaf") == "\xEF\xBF\xBD\xEF\xBF\xBD");         // overlong '/'
  CHECK(printable("\xed\xa0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate
  CHECK(printable("\xc1\x9b") == "\xEF\xBF\xBD\xEF\xBF\xBD");         // overlong ESC
  std::string every_byte;
  for (int b = 0; b < 256; ++b) every_byte.push_back(static_cast<char>(b));
  CHECK(inert(printable(every_byte)));
  CHECK(inert(printable(every_byte + every_byte.substr(128))));
}

TEST_CASE("widths are display columns: wide characters take two, a cut never splits a character") {
  CHECK(display_width("abc") == 3);
  CHECK(display_width("café") == 4);
  CHECK(display_width("工作者") == 6);
  CHECK(display_width("e\xcc\x81") == 1);  // e + combining acute
  CHECK(fit("工作者", 4) == "工 ~");
  CHECK(display_width(fit("工作者", 4)) == 4);
  CHECK(fit("工作者", 5) == "工作~");
  CHECK(fit("工作", 4) == "工作");
  CHECK(fit("ab\x1b[31m", 6) == "ab\\x1~");
  int used = 0;
  CHECK(take_columns("é工x", 2, used) == "é");
  CHECK(used == 1);
}

TEST_CASE("wrap breaks printable text at display columns and marks what it leaves out") {
  CHECK(wrap("abcdefgh", 3, 4) == std::vector<std::string>{"abc", "def", "gh"});
  CHECK(wrap("abcdefgh", 3, 2) == std::vector<std::string>{"abc", "de~"});
  CHECK(wrap("工作者们", 3, 4) == std::vector<std::string>{"工", "作", "者", "们"});
  CHECK(wrap("a\nb", 10, 2) == std::vector<std::string>{"a\\nb"});
}

TEST_CASE("a hostile name, state, payload or alarm id reaches no output as control") {
  sample s;
  s.node.name = "node\x1b]0;x\x07";
  s.node.schedulers = {{0, 0, 0, 0, 0, 0, {}, ""}};
  introspect::alarm_row alarm;
  alarm.id = "disk\nfull\x1b[2J";
  alarm.severity = "major";
  s.node.alarms = {alarm};
  process_row r;
  r.id = pid{1, 0};
  r.registered_name = "conn\x1b]0;renamed\x07\n42";
  r.behaviour = "b\x9b";
  r.current_handler = "h\x1b[31m";
  s.rows = {r};
  const std::string batch = render_batch(s, {}, s.rows, 160);
  std::size_t lines = 0;
  for (char c : batch) lines += c == '\n';
  for (std::size_t at = 0, next; (next = batch.find('\n', at)) != std::string::npos; at = next + 1)
    CHECK(inert(batch.substr(at, next - at)));
  CHECK(batch.find("ALARMS (1): [major] disk\\nfull\\x1b[2J") != std::string::npos);
  CHECK(batch.find("conn\\x1b]0;renamed\\x07\\n42") != std::string::npos);
  CHECK(lines == 6);  // title, mem, S1, alarms, titles, one row: nothing split a line

  process_details d;
  d.row = r;
  d.responsive = true;
  d.report.state = "last said \x1b[31mred\nsecond line";
  queued_message m;
  m.type = "std::string";
  m.bytes = 10;
  m.text = "\x1b]52;c;Y2xpcGJvYXJk\x07";  // OSC 52: write the operator's clipboard
  d.report.queue = {m};
  const std::string text = render_details(d);
  for (std::size_t at = 0, next; (next = text.find('\n', at)) != std::string::npos; at = next + 1)
    CHECK(inert(text.substr(at, next - at)));
  CHECK(text.find("state: last said \\x1b[31mred\\nsecond line\n") != std::string::npos);
  CHECK(text.find("\\x1b]52;c;Y2xpcGJvYXJk\\x07") != std::string::npos);

  render_input in;
  in.now = &s;
  in.rows = &s.rows;
  view_state v;
  for (auto& line : render(in, v, 80, 20).lines) CHECK(inert(line));
}

TEST_CASE("an inspected process with hundreds of monitors lists the first ten and says how many more") {
  process_details d;
  d.responsive = true;
  for (std::uint32_t i = 0; i < 300; ++i) d.report.monitors.push_back(pid{i, 0});
  d.report.links = {pid{7, 1}};
  const std::string text = render_details(d);
  CHECK(text.find("monitors <0.0.0> <0.1.0> <0.2.0> <0.3.0> <0.4.0> <0.5.0> <0.6.0> <0.7.0> <0.8.0> <0.9.0> and 290 more\n") !=
        std::string::npos);
  CHECK(text.find("<0.10.0>") == std::string::npos);
  CHECK(text.find("links <0.7.1>\n") != std::string::npos);
  CHECK(text.find("monitored by -\n") != std::string::npos);
}
