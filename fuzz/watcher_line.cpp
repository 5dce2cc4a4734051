// libFuzzer target: a MatchStream watcher's lines (examples/matchstream/src/lines.cpp, match.cpp),
// as one watcher session on one match: each "\n"-ended line (a "\r" before it dropped, lines past
// 64 KiB skipped as the watcher refuses them) goes through parse_watcher_line, then apply_event as
// the next seq. Checked: an error is one line and leaves the status as it was; a block is framed
// (its only empty line is its last, its first line names its kind) so data never becomes framing;
// the status survives the store's codec (to_json, status_from_json) and renders framed too.
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

void check_framed(std::string_view block, std::string_view kind) {
  check(block.size() >= 2 && block.substr(block.size() - 2) == "\n\n");
  check(block.find("\n\n") == block.size() - 2);
  check(matchstream::block_kind(block) == kind);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  matchstream::match_status status;
  std::int64_t seq = 0;
  const std::int64_t at_us = 1315921731000000;
  for (std::size_t from = 0; from < bytes.size();) {
    const auto nl = bytes.find('\n', from);
    std::string_view line = bytes.substr(from, nl == std::string_view::npos ? std::string_view::npos : nl - from);
    from = nl == std::string_view::npos ? bytes.size() : nl + 1;
    if (line.size() > matchstream::max_line) continue;
    while (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    auto parsed = matchstream::parse_watcher_line(line);
    if (!parsed.error.empty()) {
      check(parsed.error.find('\n') == std::string::npos);
      continue;
    }
    const std::string before = matchstream::to_json(status);
    auto a = matchstream::apply_event(status, parsed.event, seq + 1, at_us);
    if (!a.error.empty()) {
      check(a.block.empty() && a.error.find('\n') == std::string::npos);
      check(matchstream::unrenderable(a.error).empty());
      check(matchstream::to_json(status) == before);
      continue;
    }
    ++seq;
    check_framed(a.block, parsed.event["kind"].get<std::string>());
    const std::string stored = matchstream::to_json(status);
    check(matchstream::to_json(matchstream::status_from_json(stored)) == stored);
    check_framed(matchstream::render_status(status, seq, at_us), "status");
  }
  return 0;
}
