#pragma once
/// The two things a connection says in lines, parsed apart from any process or socket (so the
/// fuzz targets in fuzz/ feed them directly): a connection's first line and a watcher's event
/// line (docs/matchstream-protocol.md). Plain functions of their input: any thread, no state.
#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace matchstream {

/// What a first line asks for.
struct first_line {
  enum class kind {
    connect,              ///< VERSION:1:CONNECT:<user>:MATCH:<match-id>: `user`, `match` set
    watch,                ///< VERSION:1:WATCH:<match-id>: `match` set
    unsupported_version,  ///< VERSION:<v>:… with v other than 1: `version` holds v
    bad_match_id,         ///< a connect or watch line whose id breaks the match id rule: `match` holds it
    bad_user,             ///< a connect line whose user breaks user_error's rule: `user` holds it
    bad_watch,            ///< VERSION:1:WATCH… that is not VERSION:1:WATCH:<match-id> (no id, a field
                          ///< too many): answered with watch_usage, not the CONNECT sentence
    bad,                  ///< anything else
  };
  kind what = kind::bad;
  std::string user, match, version;
};

/// Parses a first line (without its "\n" or "\r"). A connect's `user` is never empty, holds no ':'
/// and keeps user_error's rule, else the line is bad_user; a connect's or watch's `match` keeps
/// match_id_error's rule, else the line is bad_match_id (checked first). Cost: one pass and a copy
/// of the fields.
first_line parse_first_line(std::string_view line);

/// The sentences for a bad first line: a WATCH line's (kind::bad_watch) and any other's (kind::bad).
inline constexpr std::string_view watch_usage = "expected VERSION:1:WATCH:<match-id>";
inline constexpr std::string_view connect_usage = "expected VERSION:1:CONNECT:<user>:MATCH:<match-id>";

/// Longest match id, in bytes.
inline constexpr std::size_t max_match_id_bytes = 64;
/// The match id rule: 1..max_match_id_bytes bytes of A-Z a-z 0-9 '_' '.' '-', not all dots (so an
/// id is safe to echo, to name a process "match:<id>", to store, and to put in a URL: clients
/// collapse a path segment "." or ".."). Returns "" for an id that keeps it, else the sentence for
/// the ERROR line, naming the id (escaped, at most 64 bytes shown) and the rule it breaks.
/// Any thread. Cost: one pass over at most max_match_id_bytes + 1 bytes.
std::string match_id_error(std::string_view id);

/// Longest user name, in bytes.
inline constexpr std::size_t max_user_bytes = 64;
/// The user rule (for a name that is not empty: an empty one is a bad first line): at most
/// max_user_bytes bytes of valid UTF-8 without a control character, so the name a user process
/// describes itself with is one printable line. Returns "" for a name that keeps it, else the
/// sentence for the ERROR line, naming the user (escaped, at most 64 bytes shown) and the rule.
/// Any thread. Cost: one pass over at most max_user_bytes + 1 bytes.
std::string user_error(std::string_view user);

/// A watcher line as an event: a JSON object with a string "kind" (then `error` is empty) or an
/// error sentence for the watcher's `ERROR:` answer, one of: "the line nests arrays and objects
/// deeper than 16" (checked before parsing, so no event is deep enough to exhaust a stack when
/// copied), "invalid JSON at byte N: <the parser's reason>" (N counted from 1; a lone surrogate is
/// one; a NUL byte anywhere is "invalid JSON at byte N: a NUL byte"), "number <text> is out of
/// range" (past a double, as 1e400), "key <key> appears more than once" (at any depth: a duplicate
/// is refused, never read as its last value), and "each line must be a JSON object with a
/// \"kind\"" (well-formed JSON of another shape). Echoed text is escaped(). Never throws. Cost: one
/// parse of the line, plus one set of keys per object open at a time (a refused line: about 10 µs
/// more, for the parser's exception).
struct watcher_line {
  nlohmann::json event;
  std::string error;
};
watcher_line parse_watcher_line(std::string_view line);

/// Deepest nesting of arrays and objects a watcher line may have (an event needs 3: the object,
/// a roster, a pair).
inline constexpr std::size_t max_event_depth = 16;

}  // namespace matchstream
