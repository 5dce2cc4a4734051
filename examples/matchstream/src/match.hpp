#pragma once
/// A match's meaning, apart from any process: its status (teams, rosters, scores, period), how an
/// event changes it, and how a block of the protocol (docs/matchstream-protocol.md) is rendered,
/// byte for byte as matchstream_peer.erl renders it. Plain values; no thread contract beyond
/// "one owner at a time".
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace matchstream {

/// The match as it stands. `started` is false until the first `start` event.
struct match_status {
  bool started = false;
  std::string home, visit;                  ///< team codes
  std::map<long long, std::string> home_players, visit_players;  ///< shirt number -> name
  int home_score = 0, visit_score = 0;
  std::string period;                       ///< "first" after start, then as the watcher sent it
};

/// The store's opaque text for a status, and back. from_json throws std::runtime_error on text
/// that is not a status this codec wrote. Cost: one JSON document each.
std::string to_json(const match_status& s);
match_status status_from_json(std::string_view text);

/// Unix time now, in microseconds (the blocks' at_us).
std::int64_t now_us();

/// Renders one block: the `YYYY-MM-DD HH:MM:SS: kind:` line (UTC from at_us), `seq`, `at_us`, the
/// fields, the empty line. Cost: one string of the block's size.
std::string render_status(const match_status& s, std::int64_t seq, std::int64_t at_us);

/// What applying an event gives: the rendered block, or an error sentence (the status unchanged).
struct applied {
  std::string block;  ///< empty on error
  std::string error;
};
/// Applies `event` (a JSON object with a string "kind", as the watcher sent it) to `s` as event
/// number `seq`, registered at `at_us`: `start` resets the status (its block is the status),
/// `goal` counts for the team named, `period` sets the period, any other kind of 1..32 bytes
/// leaves the status as it is. Player numbers in `player`/`player_out` become `Name (N)` from the
/// event team's roster, `[N, "Name"]` pairs become `Name (N)`, fields are sorted by key.
/// Refused, the status unchanged (data never becomes framing): a kind that breaks kind_error's
/// rule, a key past 32 bytes, a key or text value holding a control character or invalid UTF-8
/// ("<field> contains a control character"), a player number outside 0..max_player_number, and a
/// `start` that breaks start_error's rule.
applied apply_event(match_status& s, const nlohmann::json& event, std::int64_t seq, std::int64_t at_us);

/// The kind rule, checked before the match is looked up (so a fresh match id gets the sentence a
/// started match gives): `kind` of `event` (a string, as parse_watcher_line leaves it) is 1..32
/// bytes ("bad event kind") of UTF-8 ("kind is not valid UTF-8") without a control character
/// ("kind contains a control character"). Returns "" when it keeps it. Any thread. Cost: one pass.
std::string kind_error(const nlohmann::json& event);

/// The start rule: `home` and `visit` are required team names, strings of 1..max_name_bytes bytes
/// ("home must be a team name of 1 to 64 bytes"), not the same ("home and visit are the same team
/// elp"); `home_players` and `visit_players` are optional lists ("home_players must be a list of
/// [number, \"name\"] pairs") of [N, "Name"] pairs with N a whole number 0..max_player_number and
/// Name a string of 1..max_name_bytes bytes ("home_players entry [1.5,\"y\"] is not a [number
/// 0..9999, \"name of 1 to 64 bytes\"] pair", the entry escaped, cut at 64 bytes), each number
/// once ("home_players lists number 1 twice"). Returns "" when `event` keeps it. Any thread. Cost:
/// one pass over the rosters and a set of their numbers.
std::string start_error(const nlohmann::json& event);

/// Longest team or player name in a start, in bytes.
inline constexpr std::size_t max_name_bytes = 64;

/// Shirt numbers a roster, `player`, `player_out` or `[N, "Name"]` pair may hold: 0..9999 (a
/// larger or negative JSON number is refused, so no number wraps onto another player's).
inline constexpr long long max_player_number = 9999;
/// Longest key or kind an event may have, in bytes (the peer's limit for kind).
inline constexpr std::size_t max_key_bytes = 32;

/// Why `text` may not be rendered in a block, or "" if it may: "contains a control character"
/// (C0, DEL or C1, which could end a block or forge one) or "is not valid UTF-8". Cost: one pass.
std::string_view unrenderable(std::string_view text);

/// `text` made safe to echo in an ERROR line: printable ASCII and valid non-control UTF-8 as is,
/// every other byte as \xNN, at most `cap` bytes of input shown, then "...". Cost: one pass.
std::string escaped(std::string_view text, std::size_t cap = 64);

/// The kind of a rendered block, read from its first line ("" if it is not one): for formatters.
std::string_view block_kind(std::string_view block);

}  // namespace matchstream
