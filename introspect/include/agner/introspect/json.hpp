#pragma once
/// The snapshot types as JSON, for the attach protocol (docs/protocol.md) and etop's --json mode.
/// Pids are strings ("<0.5.1>"); byte and time figures are integers with their unit in the key.
#include <nlohmann/json.hpp>

#include "agner/introspect/snapshot.hpp"

namespace agner::introspect {

nlohmann::json to_json(const node_info& n);
nlohmann::json to_json(const process_row& r);
nlohmann::json to_json(const process_details& d);
nlohmann::json to_json(const alarm_row& a);
nlohmann::json to_json(const valve_row& v);

/// The reverse, for clients. Throws nlohmann::json::exception on a malformed document.
node_info node_info_from_json(const nlohmann::json& j);
process_row process_row_from_json(const nlohmann::json& j);
process_details process_details_from_json(const nlohmann::json& j);

}  // namespace agner::introspect
