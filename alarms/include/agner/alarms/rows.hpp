#pragma once
/// The engine's state as the snapshot rows every reader shares (introspection, etop, the node).
#include <cstddef>
#include <vector>

#include "agner/alarms/engine.hpp"
#include "agner/introspect/snapshot.hpp"

namespace agner::alarms {

/// The last `last` edges of the engine's bounded history, oldest first. Thread-safe (the engine's
/// lock, once); O(history).
std::vector<introspect::alarm_event> history_rows(const engine& e, std::size_t last);
/// One row per valve, its classes' counts summed. Thread-safe (the engine's lock, once); O(valves x classes).
std::vector<introspect::valve_row> valve_rows(const engine& e);

}  // namespace agner::alarms
