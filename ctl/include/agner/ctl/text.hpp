#pragma once
/// Text from a node made safe for an operator's terminal. A node's strings (alarm ids and
/// descriptions, registered names, a process's state, queued message contents) may hold anything,
/// and a raw ESC or BEL would let whoever controls them retitle, clear or recolour the terminal.
/// Pure functions: thread-safe, no allocation beyond the returned string, linear in the input.
#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace agner::ctl {

/// `s` with every control character shown visibly: C0 and DEL as `\n`, `\t`, `\r` or `\xNN`, C1
/// (U+0080..U+009F) as `\u0080`, and a byte that is not valid UTF-8 as `\xNN`. Printable UTF-8
/// passes unchanged.
std::string visible(std::string_view s);

/// visible(s) cut to at most `width` bytes without splitting a UTF-8 sequence; "~" marks a cut.
std::string visible_cut(std::string_view s, std::size_t width);

/// `j` as one line of JSON that is safe on a terminal and still valid JSON: nlohmann's dump escapes
/// C0; DEL and C1 (legal raw in a JSON string) are escaped as \u007f, \u0080...; bytes that are not
/// UTF-8 become U+FFFD.
std::string json_line(const nlohmann::json& j);

}  // namespace agner::ctl
