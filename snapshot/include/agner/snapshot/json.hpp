#pragma once
/// The snapshot types as JSON, for the attach protocol (docs/protocol.md) and etop's --json mode.
/// Pids are strings ("<0.5.1>"); byte and time figures are integers with their unit in the key.
/// Part of agner::snapshot: header-only, so a reader that only decodes (etop) needs no library.
/// Every function is thread-safe and costs O(size of the value); none keeps state.
#include <cstddef>
#include <string_view>

#include <nlohmann/json.hpp>

#include "agner/snapshot/snapshot.hpp"

namespace agner::introspect {

nlohmann::json to_json(const node_info& n);
nlohmann::json to_json(const process_row& r);
nlohmann::json to_json(const process_details& d);
nlohmann::json to_json(const alarm_row& a);
nlohmann::json to_json(const valve_row& v);
nlohmann::json to_json(const scheduler_row& s);
/// An alarm edge as the `alarms` reply's history lists it (docs/protocol.md).
nlohmann::json to_json(const alarm_event& e);

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
scheduler_row scheduler_row_from_json(const nlohmann::json& j);
alarm_row alarm_row_from_json(const nlohmann::json& j);
valve_row valve_row_from_json(const nlohmann::json& j);
alarm_event alarm_event_from_json(const nlohmann::json& j);

// Definitions (inline: the library is header-only).

namespace json_detail {

using nlohmann::json;

/// A count read from a reply. nlohmann's get<integer>() casts a floating-point value unchecked,
/// which is undefined when it is out of range (2e51 found by fuzz/client_reply): only integers are
/// accepted, anything else throws json::type_error like a field of the wrong type.
template <class T>
inline T whole(const json& j) {
  if (!j.is_number_integer()) (void)j.get_ref<const json::number_integer_t&>();  // throws type_error
  return j.get<T>();
}

inline std::string pid_text(pid p) { return p ? fmt::format("{}", p) : std::string(); }
inline pid pid_from(const json& j) {
  auto p = parse_pid(j.get<std::string>());
  return p ? *p : pid{};
}
inline json pids(const std::vector<pid>& v) {
  json a = json::array();
  for (pid p : v) a.push_back(pid_text(p));
  return a;
}
inline std::vector<pid> pids_from(const json& j) {
  std::vector<pid> v;
  for (auto& e : j) v.push_back(pid_from(e));
  return v;
}
inline process_status status_from(const std::string& s) {
  for (auto st : {process_status::waiting, process_status::runnable, process_status::running,
                  process_status::garbage_collecting, process_status::suspended, process_status::exiting})
    if (to_string(st) == s) return st;
  return process_status::waiting;
}

}  // namespace json_detail


inline int hello_version(const nlohmann::json& v) {
  if (!v.is_number_integer() || v < 1 || v > 1000) throw nlohmann::json::type_error::create(302, "version is not a small integer", nullptr);
  return v.get<int>();
}

inline bool nested_deeper_than(std::string_view text, std::size_t max_depth) noexcept {
  std::size_t depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return true;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return false;
}

inline nlohmann::json to_json(const process_row& r) {
  return {{"pid", json_detail::pid_text(r.id)},
          {"registered_name", r.registered_name},
          {"behaviour", r.behaviour},
          {"current_handler", r.current_handler},
          {"message_queue_len", r.message_queue_len},
          {"reductions", r.reductions},
          {"reductions_in_window", r.reductions_in_window},
          {"messages_received", r.messages_received},
          {"memory_bytes", r.memory_bytes},
          {"gc_runs", r.gc_runs},
          {"oldest_message_age_ms", r.oldest_message_age_ms},
          {"status", to_string(r.status)}};
}

inline process_row process_row_from_json(const nlohmann::json& j) {
  process_row r;
  r.id = json_detail::pid_from(j.at("pid"));
  r.registered_name = j.at("registered_name").get<std::string>();
  r.behaviour = j.value("behaviour", std::string());
  r.current_handler = j.value("current_handler", std::string());
  r.message_queue_len = json_detail::whole<std::uint64_t>(j.at("message_queue_len"));
  r.reductions = json_detail::whole<std::uint64_t>(j.at("reductions"));
  r.reductions_in_window = json_detail::whole<std::uint64_t>(j.at("reductions_in_window"));
  r.messages_received = json_detail::whole<std::uint64_t>(j.at("messages_received"));
  r.memory_bytes = json_detail::whole<std::uint64_t>(j.at("memory_bytes"));
  r.gc_runs = json_detail::whole<std::uint64_t>(j.at("gc_runs"));
  r.oldest_message_age_ms = json_detail::whole<std::uint64_t>(j.at("oldest_message_age_ms"));
  r.status = json_detail::status_from(j.at("status").get<std::string>());
  return r;
}

inline nlohmann::json to_json(const process_details& d) {
  nlohmann::json j = to_json(d.row);
  j["mailbox_bytes"] = d.mailbox_bytes;
  j["heap_bytes"] = d.heap_bytes;
  j["state_bytes"] = d.state_bytes;
  j["minor_gcs"] = d.minor_gcs;
  j["major_gcs"] = d.major_gcs;
  j["gc_reclaimed_bytes"] = d.gc_reclaimed_bytes;
  j["responsive"] = d.responsive;
  if (d.responsive) {
    const auto& r = d.report;
    nlohmann::json queue = nlohmann::json::array();
    for (auto& m : r.queue) {
      nlohmann::json e{{"type", m.type}, {"bytes", m.bytes}};
      if (!m.text.empty()) e["text"] = m.text;
      queue.push_back(std::move(e));
    }
    j["behaviour"] = r.behaviour;
    j["links"] = json_detail::pids(r.links);
    j["monitors"] = json_detail::pids(r.monitors);
    j["monitored_by"] = json_detail::pids(r.monitored_by);
    j["parent"] = json_detail::pid_text(r.parent);
    j["trap_exit"] = r.trap_exit;
    j["suspended"] = r.suspended;
    j["unhandled_messages"] = r.unhandled_messages;
    j["state"] = r.state;
    j["queue"] = std::move(queue);
  }
  return j;
}

inline process_details process_details_from_json(const nlohmann::json& j) {
  process_details d;
  d.row = process_row_from_json(j);
  d.mailbox_bytes = json_detail::whole<std::uint64_t>(j.at("mailbox_bytes"));
  d.heap_bytes = json_detail::whole<std::uint64_t>(j.at("heap_bytes"));
  d.state_bytes = json_detail::whole<std::uint64_t>(j.at("state_bytes"));
  d.minor_gcs = json_detail::whole<std::uint64_t>(j.at("minor_gcs"));
  d.major_gcs = json_detail::whole<std::uint64_t>(j.at("major_gcs"));
  d.gc_reclaimed_bytes = json_detail::whole<std::uint64_t>(j.at("gc_reclaimed_bytes"));
  d.responsive = j.at("responsive").get<bool>();
  if (d.responsive) {
    auto& r = d.report;
    r.behaviour = j.at("behaviour").get<std::string>();
    r.links = json_detail::pids_from(j.at("links"));
    r.monitors = json_detail::pids_from(j.at("monitors"));
    r.monitored_by = json_detail::pids_from(j.at("monitored_by"));
    r.parent = json_detail::pid_from(j.at("parent"));
    r.trap_exit = j.at("trap_exit").get<bool>();
    r.suspended = j.at("suspended").get<bool>();
    r.unhandled_messages = json_detail::whole<std::uint64_t>(j.value("unhandled_messages", nlohmann::json(0)));  // absent from older nodes
    r.state = j.at("state").get<std::string>();
    for (auto& e : j.at("queue"))
      r.queue.push_back({e.at("type").get<std::string>(), json_detail::whole<std::uint64_t>(e.at("bytes")),
                         e.value("text", std::string())});
  }
  return d;
}

inline nlohmann::json to_json(const alarm_row& a) {
  return {{"id", a.id},           {"source", a.source},
          {"severity", a.severity}, {"description", a.description},
          {"raised_at_ms", a.raised_at_ms}, {"acknowledged", a.acknowledged}};
}

inline nlohmann::json to_json(const valve_row& v) {
  return {{"id", v.id},           {"pressure", v.pressure}, {"shadow", v.shadow}, {"override", v.override_mode},
          {"offered", v.offered}, {"shed", v.shed},         {"would_shed", v.would_shed}};
}

inline nlohmann::json to_json(const scheduler_row& s) {
  return {{"id", s.id},
          {"run_queue_length", s.run_queue_length},
          {"reductions", s.reductions},
          {"context_switches", s.context_switches},
          {"busy_ns", s.busy_ns},
          {"wall_ns", s.wall_ns},
          {"running", json_detail::pid_text(s.running)},
          {"handling", s.handling}};
}

inline scheduler_row scheduler_row_from_json(const nlohmann::json& s) {
  return {json_detail::whole<unsigned>(s.at("id")), json_detail::whole<std::uint64_t>(s.at("run_queue_length")),
          json_detail::whole<std::uint64_t>(s.at("reductions")), json_detail::whole<std::uint64_t>(s.at("context_switches")),
          json_detail::whole<std::uint64_t>(s.at("busy_ns")), json_detail::whole<std::uint64_t>(s.at("wall_ns")),
          json_detail::pid_from(s.at("running")), s.at("handling").get<std::string>()};
}

inline alarm_row alarm_row_from_json(const nlohmann::json& a) {
  return {a.at("id").get<std::string>(), a.at("source").get<std::string>(),
          a.at("severity").get<std::string>(), a.at("description").get<std::string>(),
          json_detail::whole<std::uint64_t>(a.at("raised_at_ms")), a.at("acknowledged").get<bool>()};
}

inline valve_row valve_row_from_json(const nlohmann::json& v) {
  return {v.at("id").get<std::string>(), v.at("pressure").get<double>(), v.at("shadow").get<bool>(),
          v.at("override").get<std::string>(), json_detail::whole<std::uint64_t>(v.at("offered")),
          json_detail::whole<std::uint64_t>(v.at("shed")), json_detail::whole<std::uint64_t>(v.at("would_shed"))};
}

inline nlohmann::json to_json(const alarm_event& e) {
  return {{"at_ms", e.at_ms}, {"alarm", e.alarm}, {"source", e.source}, {"from", e.from}, {"to", e.to}, {"value", e.value}};
}

inline alarm_event alarm_event_from_json(const nlohmann::json& e) {
  return {json_detail::whole<std::uint64_t>(e.at("at_ms")), e.at("alarm").get<std::string>(), e.at("source").get<std::string>(),
          e.at("from").get<std::string>(), e.at("to").get<std::string>(), e.at("value").get<double>()};
}

inline nlohmann::json to_json(const node_info& n) {
  nlohmann::json scheds = nlohmann::json::array();
  for (auto& s : n.schedulers) scheds.push_back(to_json(s));
  nlohmann::json alarms = nlohmann::json::array();
  for (auto& a : n.alarms) alarms.push_back(to_json(a));
  nlohmann::json valves = nlohmann::json::array();
  for (auto& v : n.valves) valves.push_back(to_json(v));
  const auto& m = n.messages;
  return {{"name", n.name},
          {"uptime_ns", n.uptime_ns},
          {"process_count", n.process_count},
          {"process_limit", n.process_limit},
          {"run_queue_total", n.run_queue_total},
          {"schedulers", std::move(scheds)},
          {"messages",
           {{"sent", m.sent},
            {"delivered", m.delivered},
            {"dropped", m.dropped},
            {"dropped_rejected", m.dropped_rejected},
            {"dropped_newest", m.dropped_newest},
            {"dropped_oldest", m.dropped_oldest},
            {"dead_letters", m.dead_letters},
            {"shed", m.shed},
            {"late_replies", m.late_replies},
            {"unhandled", m.unhandled}}},
          {"gc",
           {{"minor_runs", n.gc.minor_runs},
            {"major_runs", n.gc.major_runs},
            {"bytes_reclaimed", n.gc.bytes_reclaimed},
            {"heap_bytes", n.gc.heap_bytes}}},
          {"memory",
           {{"processes_bytes", n.memory.processes_bytes},
            {"heaps_bytes", n.memory.heaps_bytes},
            {"binary_bytes", n.memory.binary_bytes},
            {"resident_bytes", n.memory.resident_bytes}}},
          {"ports",
           {{"open", n.ports.open},
            {"accepted", n.ports.accepted},
            {"bytes_in", n.ports.bytes_in},
            {"bytes_out", n.ports.bytes_out},
            {"accept_failures", n.ports.accept_failures}}},
          {"alarms", std::move(alarms)},
          {"valves", std::move(valves)}};
}

inline node_info node_info_from_json(const nlohmann::json& j) {
  node_info n;
  n.name = j.at("name").get<std::string>();
  n.uptime_ns = json_detail::whole<std::uint64_t>(j.at("uptime_ns"));
  n.process_count = json_detail::whole<std::uint32_t>(j.at("process_count"));
  n.process_limit = json_detail::whole<std::uint32_t>(j.at("process_limit"));
  n.run_queue_total = json_detail::whole<std::uint64_t>(j.at("run_queue_total"));
  for (auto& s : j.at("schedulers")) n.schedulers.push_back(scheduler_row_from_json(s));
  auto& m = j.at("messages");
  n.messages.sent = json_detail::whole<std::uint64_t>(m.at("sent"));
  n.messages.delivered = json_detail::whole<std::uint64_t>(m.at("delivered"));
  n.messages.dropped = json_detail::whole<std::uint64_t>(m.at("dropped"));
  n.messages.dropped_rejected = json_detail::whole<std::uint64_t>(m.at("dropped_rejected"));
  n.messages.dropped_newest = json_detail::whole<std::uint64_t>(m.at("dropped_newest"));
  n.messages.dropped_oldest = json_detail::whole<std::uint64_t>(m.at("dropped_oldest"));
  n.messages.dead_letters = json_detail::whole<std::uint64_t>(m.at("dead_letters"));
  n.messages.shed = m.value("shed", std::uint64_t{0});
  n.messages.late_replies = json_detail::whole<std::uint64_t>(m.at("late_replies"));
  n.messages.unhandled = json_detail::whole<std::uint64_t>(m.value("unhandled", nlohmann::json(0)));  // absent from older nodes
  auto& g = j.at("gc");
  n.gc = {json_detail::whole<std::uint64_t>(g.at("minor_runs")), json_detail::whole<std::uint64_t>(g.at("major_runs")),
          json_detail::whole<std::uint64_t>(g.at("bytes_reclaimed")), json_detail::whole<std::uint64_t>(g.at("heap_bytes"))};
  auto& mem = j.at("memory");
  n.memory = {json_detail::whole<std::uint64_t>(mem.at("processes_bytes")), json_detail::whole<std::uint64_t>(mem.at("heaps_bytes")),
              json_detail::whole<std::uint64_t>(mem.at("binary_bytes")), json_detail::whole<std::uint64_t>(mem.at("resident_bytes"))};
  auto& p = j.at("ports");
  n.ports = {json_detail::whole<std::uint64_t>(p.at("open")), json_detail::whole<std::uint64_t>(p.at("accepted")),
             json_detail::whole<std::uint64_t>(p.at("bytes_in")), json_detail::whole<std::uint64_t>(p.at("bytes_out")),
             p.contains("accept_failures") ? json_detail::whole<std::uint64_t>(p.at("accept_failures")) : 0};  // older nodes
  for (auto& v : j.value("valves", nlohmann::json::array())) n.valves.push_back(valve_row_from_json(v));
  for (auto& a : j.at("alarms")) n.alarms.push_back(alarm_row_from_json(a));
  return n;
}

}  // namespace agner::introspect
