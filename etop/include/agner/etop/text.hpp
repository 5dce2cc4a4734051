#pragma once
/// Text from the observed system as etop shows it: data, never control. Every string that reaches
/// the terminal, a --batch line or an --inspect line goes through printable(); widths are display
/// columns (wcwidth in the C.UTF-8 locale, whatever the process locale), never bytes.
#include <string>
#include <string_view>
#include <vector>

namespace agner::etop {

/// `raw` (any bytes) as valid UTF-8 a terminal shows and never obeys. C0 controls and DEL become
/// visible escapes (`\t`, `\n`, `\r`, `\x1b`, `\x7f`), C1 controls, line/paragraph separators and
/// bidirectional overrides become `\u0085`-style escapes, other code points a terminal cannot print
/// become `\u0378`-style escapes, and each byte of invalid UTF-8 (overlong, surrogate, truncated)
/// becomes U+FFFD. Printable text is returned unchanged (the function is idempotent).
/// Pure, thread-safe; O(size).
std::string printable(std::string_view raw);

/// Display columns `text` takes on a terminal (wide CJK characters 2, combining marks 0). `text`
/// should be printable(); a byte that is not valid UTF-8 or a control counts as 1. Thread-safe; O(size).
int display_width(std::string_view text);

/// The longest prefix of printable `text` that fits in `columns` display columns, cut only between
/// characters (never inside a UTF-8 sequence or a wide character). `used` receives its width.
std::string take_columns(std::string_view text, int columns, int& used);

/// printable(`text`) broken into lines of at most `width` columns (at most `max_lines` of them; the
/// last one ends in '~' when text was left over). Thread-safe; O(size).
std::vector<std::string> wrap(std::string_view text, int width, int max_lines);

}  // namespace agner::etop
