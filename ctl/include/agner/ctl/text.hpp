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

/// agner::visible_text(s): every control character shown visibly (C0 and DEL as `\xNN`, C1 as
/// `\u0080`..`\u009f`, the characters that reorder a line such as U+202E as `\uNNNN`), a byte that
/// is not valid UTF-8 as `\xNN`; printable UTF-8 passes unchanged. One rule for the whole product.
std::string visible(std::string_view s);

/// visible(s) cut to at most `width` bytes without splitting a UTF-8 sequence; "~" marks a cut.
std::string visible_cut(std::string_view s, std::size_t width);

/// `j` as one line of JSON that is safe on a terminal and still valid JSON: nlohmann's dump escapes
/// C0; DEL, C1 and what visible() escapes beyond (legal raw in a JSON string) are escaped as
/// \u007f, \u0080, \u202e...; bytes that are not UTF-8 become U+FFFD.
std::string json_line(const nlohmann::json& j);

}  // namespace agner::ctl
