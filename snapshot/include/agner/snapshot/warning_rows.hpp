#pragma once
/// Warnings (docs/warnings.md): what the node flags about single processes — tokio-console's lints
/// for an actor runtime — and the thresholds that decide them. Plain data and its JSON form, shared
/// by the node's warning monitor (agner/introspect/warnings.hpp), the rules file (alarms/), the wire and etop.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "agner/snapshot/pid.hpp"

namespace agner::introspect {

/// When a warning is raised. Set in the rules file under "warnings" (docs/warnings.md lists the
/// keys, their ranges and these defaults). Times in milliseconds, sizes in bytes, counts plain.
struct warning_thresholds {
  std::uint32_t sample_ms = 1000;           ///< how often the node samples while someone asks (100..60000)
  std::uint32_t candidates = 64;            ///< processes followed per kind each sample (1..1000): the cost bound
  std::uint32_t queue_growth_samples = 5;   ///< queue_growing: it grew in each of the last K samples (2..100)
  std::uint64_t queue_growth_min = 100;     ///< ... and holds at least this many messages now
  std::uint64_t old_message_ms = 5000;      ///< old_message: its oldest queued message is at least this old
  std::uint64_t long_handler_ms = 1000;     ///< never_yielded: one handler held its scheduler this long
  std::uint64_t long_handler_keep_ms = 60000;  ///< ... and the warning stays this long after it returned
  /// restart_intensity: a supervisor used at least this share (percent, 1..100) of its restart
  /// intensity (restarts seen within its period / its intensity).
  std::uint32_t restart_intensity_percent = 80;
  std::uint32_t memory_growth_collections = 3;  ///< memory_growing: it held more after each of the last N collections (2..100)
  std::uint64_t memory_growth_min_bytes = 1 << 20;  ///< ... by at least this much in all
  bool operator==(const warning_thresholds&) const = default;
};

/// The kinds, as on the wire: queue_growing, old_message, never_yielded, restart_intensity,
/// mailbox_dropping, memory_growing.
inline constexpr std::string_view warning_kinds[] = {"queue_growing",     "old_message",      "never_yielded",
                                                     "restart_intensity", "mailbox_dropping", "memory_growing"};

/// One warning about one process.
struct warning_row {
  std::string kind;        ///< one of warning_kinds
  pid id;
  std::string name;        ///< its registered name, else its behaviour's type
  std::string message;     ///< one sentence with the figures ("queue grew in each of the last 5 samples: 120 to 8396")
  std::uint64_t value = 0;      ///< the figure compared: messages, ms, ms, percent, messages dropped, bytes (by kind)
  std::uint64_t threshold = 0;  ///< what it was compared with, in the same unit
  std::uint64_t since_ms = 0;   ///< when the node first raised it (wall clock, ms since the epoch)
  std::string handler;     ///< never_yielded: the type of the message it was handling
  bool operator==(const warning_row&) const = default;
};

/// The JSON of docs/protocol.md's `warnings` reply. Throws nlohmann::json::exception on a malformed
/// row (a missing field, a wrong type). Thread-safe; O(size).
nlohmann::json to_json(const warning_row& w);
warning_row warning_row_from_json(const nlohmann::json& j);

// Definitions (inline: the library is header-only).

namespace warning_detail {

inline std::uint64_t whole(const nlohmann::json& j) {  // integers only: a float past range would be undefined to convert
  if (!j.is_number_unsigned() && !j.is_number_integer()) (void)j.get_ref<const nlohmann::json::number_unsigned_t&>();  // throws
  return j.get<std::uint64_t>();
}

}  // namespace warning_detail

inline nlohmann::json to_json(const warning_row& w) {
  nlohmann::json j{{"kind", w.kind},
         {"pid", fmt::format("{}", w.id)},
         {"name", w.name},
         {"message", w.message},
         {"value", w.value},
         {"threshold", w.threshold},
         {"since_ms", w.since_ms}};
  if (!w.handler.empty()) j["handler"] = w.handler;
  return j;
}

inline warning_row warning_row_from_json(const nlohmann::json& j) {
  warning_row w;
  w.kind = j.at("kind").get<std::string>();
  auto p = parse_pid(j.at("pid").get<std::string>());
  if (!p) throw nlohmann::json::type_error::create(302, fmt::format("warning pid '{}' is not a pid", j.at("pid").get<std::string>()), &j);
  w.id = *p;
  w.name = j.at("name").get<std::string>();
  w.message = j.at("message").get<std::string>();
  w.value = warning_detail::whole(j.at("value"));
  w.threshold = warning_detail::whole(j.at("threshold"));
  w.since_ms = warning_detail::whole(j.at("since_ms"));
  w.handler = j.value("handler", std::string());
  return w;
}

}  // namespace agner::introspect
