#include "agner/etop/text.hpp"

#include <locale.h>
#include <wchar.h>

#include <cstdint>

#include <fmt/format.h>

#include "agner/snapshot/visible_text.hpp"

namespace agner::etop {
namespace {

constexpr char32_t invalid = 0xFFFFFFFF;

/// Decodes one strict UTF-8 sequence at `s[i]`; returns `invalid` (and consumes one byte) for a
/// byte that does not start a valid, shortest-form, non-surrogate sequence.
char32_t decode(std::string_view s, std::size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  int len = 0;
  char32_t cp = 0, min = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) len = 2, cp = b0 & 0x1F, min = 0x80;
  else if (b0 >= 0xE0 && b0 <= 0xEF) len = 3, cp = b0 & 0x0F, min = 0x800;
  else if (b0 >= 0xF0 && b0 <= 0xF4) len = 4, cp = b0 & 0x07, min = 0x10000;
  if (len == 0 || i + static_cast<std::size_t>(len) > s.size()) {
    ++i;
    return invalid;
  }
  for (int k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
    if ((b & 0xC0) != 0x80) {
      ++i;
      return invalid;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    ++i;
    return invalid;
  }
  i += static_cast<std::size_t>(len);
  return cp;
}

/// wcwidth() in C.UTF-8, so widths do not depend on how the process's locale was set. -1: not
/// printable. Without that locale (it is built into glibc >= 2.35), non-ASCII counts as 1.
class widths {
 public:
  widths() : utf8_(newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr))) {}
  ~widths() {
    if (utf8_) freelocale(utf8_);
  }
  int of(char32_t cp) const {
    if (cp < 0x20 || cp == 0x7F) return -1;
    if (cp < 0x7F) return 1;
    if (!utf8_) return (cp >= 0x80 && cp < 0xA0) ? -1 : 1;
    const locale_t old = uselocale(utf8_);
    const int w = wcwidth(static_cast<wchar_t>(cp));
    uselocale(old);
    return w;
  }

 private:
  locale_t utf8_;
};

const widths& width_table() {
  static const widths table;
  return table;
}

/// Code points a terminal would act on or that reorder/split what follows: shown escaped.
bool escaped(char32_t cp) {
  return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0) || cp == 0x2028 || cp == 0x2029 ||
         (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x061C || cp == 0xFEFF;
}

}  // namespace

std::string printable(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  const auto& table = width_table();
  for (std::size_t i = 0; i < raw.size();) {
    const char32_t cp = decode(raw, i);
    if (cp == invalid) {
      out += "\xEF\xBF\xBD";  // U+FFFD
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp < 0x20 || cp == 0x7F) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned>(cp));
    } else if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (escaped(cp) || table.of(cp) < 0) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned>(cp));
    } else {
      agner::append_utf8(cp, out);
    }
  }
  return out;
}

int display_width(std::string_view text) {
  const auto& table = width_table();
  int w = 0;
  for (std::size_t i = 0; i < text.size();) {
    const char32_t cp = decode(text, i);
    const int c = cp == invalid ? 1 : table.of(cp);
    w += c < 0 ? 1 : c;
  }
  return w;
}

std::string take_columns(std::string_view text, int columns, int& used) {
  const auto& table = width_table();
  used = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t next = i;
    const char32_t cp = decode(text, next);
    int c = cp == invalid ? 1 : table.of(cp);
    if (c < 0) c = 1;
    if (used + c > columns) break;
    used += c;
    i = next;
  }
  return std::string(text.substr(0, i));
}

std::vector<std::string> wrap(std::string_view text, int width, int max_lines) {
  std::vector<std::string> lines;
  if (width <= 0 || max_lines <= 0) return lines;
  const std::string safe = printable(text);
  std::string_view rest = safe;
  while (!rest.empty() && static_cast<int>(lines.size()) < max_lines) {
    int used = 0;
    std::string piece = take_columns(rest, width, used);
    if (piece.empty()) piece = take_columns(rest, 2, used);  // a wide character on a 1-column screen
    rest.remove_prefix(piece.size());
    if (!rest.empty() && static_cast<int>(lines.size()) + 1 == max_lines) {
      piece = take_columns(piece, width - 1, used) + "~";
      rest = {};
    }
    lines.push_back(std::move(piece));
  }
  if (lines.empty()) lines.emplace_back();
  return lines;
}

}  // namespace agner::etop
