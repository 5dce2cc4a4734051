#include "agner/ctl/text.hpp"

#include <fmt/format.h>
#include "agner/snapshot/visible_text.hpp"

namespace agner::ctl {

std::string visible(std::string_view s) { return visible_text(s); }

std::string visible_cut(std::string_view s, std::size_t width) {
  std::string v = visible(s);
  if (v.size() <= width || width == 0) return v;
  std::size_t end = width - 1;  // room for the mark
  while (end > 0 && (static_cast<unsigned char>(v[end]) & 0xc0) == 0x80) --end;
  v.resize(end);
  return v + "~";
}

std::string json_line(const nlohmann::json& j) {
  const std::string dumped = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  // The dump is valid UTF-8 with C0 escaped; what visible_text would still escape (DEL, C1, the
  // characters that reorder a line) is escaped here as \uNNNN, which JSON reads back unchanged.
  std::string out;
  out.reserve(dumped.size());
  for (std::size_t i = 0; i < dumped.size();) {
    const auto c = static_cast<unsigned char>(dumped[i]);
    const std::size_t n = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    const std::string_view ch(dumped.data() + i, std::min(n, dumped.size() - i));
    i += ch.size();
    const bool special = c == 0x7f || (n > 1 && n < 4 && visible_text(ch) != ch);
    if (!special) {
      out += ch;
      continue;
    }
    const unsigned cp = n == 1 ? c
                        : n == 2 ? (c & 0x1fu) << 6 | (static_cast<unsigned char>(ch[1]) & 0x3fu)
                                 : (c & 0x0fu) << 12 | (static_cast<unsigned char>(ch[1]) & 0x3fu) << 6 |
                                       (static_cast<unsigned char>(ch[2]) & 0x3fu);
    out += fmt::format("\\u{:04x}", cp);
  }
  return out;
}

}  // namespace agner::ctl
