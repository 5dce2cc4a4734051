// libFuzzer target: a MatchStream connection's first line (examples/matchstream/src/lines.cpp), as
// the client process takes it: the bytes up to the first "\n" (with any "\r" before it dropped; a
// line past 64 KiB is refused before parsing), then parse_first_line, then the ERROR sentence an
// unsupported version, an unknown match or a bad match id would echo. Checked: a connect names a
// user and neither field holds ':'; a connect's or watch's match id keeps the id rule, a connect's user the user rule; an echoed
// field can never end the ERROR line or hold a control byte.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "connection.hpp"
#include "lines.hpp"
#include "match.hpp"

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

void check_echo(std::string_view field) {
  const std::string shown = matchstream::escaped(field);
  check(matchstream::unrenderable(shown).empty());
  check(shown.find('\n') == std::string::npos && shown.find('\r') == std::string::npos);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::string_view line = bytes.substr(0, bytes.find('\n'));
  if (line.size() > matchstream::max_line) return 0;
  while (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  using kind = matchstream::first_line::kind;
  const auto p = matchstream::parse_first_line(line);
  switch (p.what) {
    case kind::connect:
      check(!p.user.empty());
      check(p.user.find(':') == std::string::npos && p.match.find(':') == std::string::npos);
      check(line == "VERSION:1:CONNECT:" + p.user + ":MATCH:" + p.match);
      check(matchstream::match_id_error(p.match).empty() && matchstream::user_error(p.user).empty());
      check_echo(p.match);
      break;
    case kind::watch:
      check(!p.match.empty() && p.match.find(':') == std::string::npos);
      check(line == "VERSION:1:WATCH:" + p.match);
      check(matchstream::match_id_error(p.match).empty());
      check_echo(p.match);
      break;
    case kind::bad_match_id:
      check(!matchstream::match_id_error(p.match).empty());
      check(matchstream::match_id_error(p.match).find('\n') == std::string::npos);
      check_echo(p.match);
      break;
    case kind::bad_user:
      check(!p.user.empty() && !matchstream::user_error(p.user).empty());
      check(matchstream::match_id_error(p.match).empty());
      check_echo(p.user);
      break;
    case kind::unsupported_version:
      check(p.version != "1" && p.version.find(':') == std::string::npos);
      check_echo(p.version);
      break;
    case kind::bad_watch:
      check(line.starts_with("VERSION:1:WATCH"));
      check(p.user.empty() && p.match.empty() && p.version.empty());
      break;
    case kind::bad:
      check(p.user.empty() && p.match.empty() && p.version.empty());
      break;
  }
  return 0;
}
