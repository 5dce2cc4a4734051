#pragma once
/// The snapshot types as JSON, for the attach protocol (docs/protocol.md) and etop's --json mode.
/// Pids are strings ("<0.5.1>"); byte and time figures are integers with their unit in the key.
#include <cstddef>
#include <string_view>

#include <nlohmann/json.hpp>

#include "agner/introspect/snapshot.hpp"

namespace agner::introspect {

nlohmann::json to_json(const node_info& n);
nlohmann::json to_json(const process_row& r);
nlohmann::json to_json(const process_details& d);
nlohmann::json to_json(const alarm_row& a);
nlohmann::json to_json(const valve_row& v);

/// The deepest nesting of arrays and objects an attach frame may have, in either direction.
inline constexpr std::size_t max_json_depth = 32;

/// Whether `text` nests arrays and objects deeper than `max_depth` (brackets inside strings do not
/// count). Run it before parsing anything a peer sent: a parsed value is a recursive structure, so
/// a 64 KB line nested 32,000 deep costs stack when copied or destroyed. One pass, no allocation,
/// thread-safe.
bool nested_deeper_than(std::string_view text, std::size_t max_depth) noexcept;

/// The protocol version a node's hello names: a whole number 1–1000. Anything else (a fraction, a
/// string, a number past int's range, which would be undefined to convert) throws
/// nlohmann::json::type_error, which the client reports as bad_reply. O(1).
int hello_version(const nlohmann::json& v);

/// The reverse, for clients. Throws nlohmann::json::exception on a malformed document.
node_info node_info_from_json(const nlohmann::json& j);
process_row process_row_from_json(const nlohmann::json& j);
process_details process_details_from_json(const nlohmann::json& j);

}  // namespace agner::introspect
