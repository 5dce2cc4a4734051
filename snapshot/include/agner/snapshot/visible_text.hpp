#pragma once
/// Operator-supplied or node-supplied text made safe for a terminal and a log line: control bytes
/// and malformed UTF-8 shown visibly, so that a value cannot write escape sequences or start a
/// forged line. Header-only, pure: thread-safe, linear in the input, allocates only the result.
#include <string>
#include <string_view>

namespace agner {

/// `text` with C0 controls and DEL as `\xNN`, C1 controls (U+0080..U+009F) as `\u00NN`, the
/// characters that reorder or split what follows on a terminal (bidirectional embeddings, overrides
/// and isolates U+202A..U+202E, U+2066..U+2069, U+061C; line and paragraph separators U+2028,
/// U+2029; U+FEFF) as `\uNNNN`, and every byte that does not start a well-formed UTF-8 sequence
/// (overlong, surrogate, past U+10FFFF, truncated) as `\xNN`. Other printable ASCII and well-formed
/// UTF-8 pass unchanged.
inline std::string visible_text(std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  auto escape = [&](const char* prefix, unsigned char c) {
    out += prefix;
    out += hex[c >> 4];
    out += hex[c & 15];
  };
  for (std::size_t i = 0; i < text.size();) {
    const auto ch = static_cast<unsigned char>(text[i]);
    if (ch < 0x80) {
      if (ch < 0x20 || ch == 0x7f) {
        escape("\\x", ch);
      } else {
        out += static_cast<char>(ch);
      }
      ++i;
      continue;
    }
    const std::size_t n = ch >= 0xf0 && ch <= 0xf4 ? 4 : ch >= 0xe0 && ch <= 0xef ? 3 : ch >= 0xc2 && ch <= 0xdf ? 2 : 0;
    bool ok = n != 0 && i + n <= text.size();
    for (std::size_t k = 1; ok && k < n; ++k) ok = (static_cast<unsigned char>(text[i + k]) & 0xc0) == 0x80;
    if (ok && n == 3) {
      const auto c1 = static_cast<unsigned char>(text[i + 1]);
      ok = !(ch == 0xe0 && c1 < 0xa0) && !(ch == 0xed && c1 >= 0xa0);  // overlong, surrogate
    }
    if (ok && n == 4) {
      const auto c1 = static_cast<unsigned char>(text[i + 1]);
      ok = !(ch == 0xf0 && c1 < 0x90) && !(ch == 0xf4 && c1 >= 0x90);  // overlong, past U+10FFFF
    }
    if (!ok) {
      escape("\\x", ch);
      ++i;
    } else if (n == 2 && ch == 0xc2 && static_cast<unsigned char>(text[i + 1]) < 0xa0) {
      escape("\\u00", static_cast<unsigned char>(text[i + 1]));  // C1: U+0080..U+009F
      i += 2;
    } else if (const unsigned cp = n == 2 ? (ch & 0x1fu) << 6 | (static_cast<unsigned char>(text[i + 1]) & 0x3fu)
                                 : n == 3 ? (ch & 0x0fu) << 12 | (static_cast<unsigned char>(text[i + 1]) & 0x3fu) << 6 |
                                                (static_cast<unsigned char>(text[i + 2]) & 0x3fu)
                                          : 0;
               cp == 0x061c || cp == 0x2028 || cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e) ||
               (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff) {
      escape("\\u", static_cast<unsigned char>(cp >> 8));
      out += hex[(cp >> 4) & 15];
      out += hex[cp & 15];
      i += n;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

/// Appends code point `cp` (at most U+10FFFF, not a surrogate: the caller checks) to `out` as UTF-8.
inline void append_utf8(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

/// visible_text of each line of `text`, the line breaks kept: for a message that is several lines
/// by design (a rules file's errors, one a line) whose parts came visible_text'd from their source.
inline std::string visible_lines(std::string_view text) {
  std::string out;
  for (std::size_t start = 0;;) {
    const auto end = text.find('\n', start);
    out += visible_text(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return out;
    out += '\n';
    start = end + 1;
  }
}

}  // namespace agner
