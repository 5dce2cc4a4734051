#include "agner/introspect/json.hpp"

#include <fmt/format.h>

namespace agner::introspect {
namespace {

using nlohmann::json;

/// A count read from a reply. nlohmann's get<integer>() casts a floating-point value unchecked,
/// which is undefined when it is out of range (2e51 found by fuzz/client_reply): only integers are
/// accepted, anything else throws json::type_error like a field of the wrong type.
template <class T>
T whole(const json& j) {
  if (!j.is_number_integer()) (void)j.get_ref<const json::number_integer_t&>();  // throws type_error
  return j.get<T>();
}

std::string pid_text(pid p) { return p ? fmt::format("{}", p) : std::string(); }
pid pid_from(const json& j) {
  auto p = parse_pid(j.get<std::string>());
  return p ? *p : pid{};
}
json pids(const std::vector<pid>& v) {
  json a = json::array();
  for (pid p : v) a.push_back(pid_text(p));
  return a;
}
std::vector<pid> pids_from(const json& j) {
  std::vector<pid> v;
  for (auto& e : j) v.push_back(pid_from(e));
  return v;
}
process_status status_from(const std::string& s) {
  for (auto st : {process_status::waiting, process_status::runnable, process_status::running,
                  process_status::garbage_collecting, process_status::suspended, process_status::exiting})
    if (to_string(st) == s) return st;
  return process_status::waiting;
}

}  // namespace

int hello_version(const json& v) {
  if (!v.is_number_integer() || v < 1 || v > 1000) throw json::type_error::create(302, "version is not a small integer", nullptr);
  return v.get<int>();
}

bool nested_deeper_than(std::string_view text, std::size_t max_depth) noexcept {
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

json to_json(const process_row& r) {
  return {{"pid", pid_text(r.id)},
          {"registered_name", r.registered_name},
          {"behaviour", r.behaviour},
          {"current_handler", r.current_handler},
          {"message_queue_len", r.message_queue_len},
          {"reductions", r.reductions},
          {"reductions_in_window", r.reductions_in_window},
          {"messages_received", r.messages_received},
          {"memory_bytes", r.memory},
          {"gc_runs", r.gc_runs},
          {"oldest_message_age_ms", r.oldest_message_age_ms},
          {"status", to_string(r.status)}};
}

process_row process_row_from_json(const json& j) {
  process_row r;
  r.id = pid_from(j.at("pid"));
  r.registered_name = j.at("registered_name").get<std::string>();
  r.behaviour = j.value("behaviour", std::string());
  r.current_handler = j.value("current_handler", std::string());
  r.message_queue_len = whole<std::uint64_t>(j.at("message_queue_len"));
  r.reductions = whole<std::uint64_t>(j.at("reductions"));
  r.reductions_in_window = whole<std::uint64_t>(j.at("reductions_in_window"));
  r.messages_received = whole<std::uint64_t>(j.at("messages_received"));
  r.memory = whole<std::uint64_t>(j.at("memory_bytes"));
  r.gc_runs = whole<std::uint64_t>(j.at("gc_runs"));
  r.oldest_message_age_ms = whole<std::uint64_t>(j.at("oldest_message_age_ms"));
  r.status = status_from(j.at("status").get<std::string>());
  return r;
}

json to_json(const process_details& d) {
  json j = to_json(d.row);
  j["mailbox_bytes"] = d.mailbox_bytes;
  j["heap_bytes"] = d.heap_bytes;
  j["state_bytes"] = d.state_bytes;
  j["minor_gcs"] = d.minor_gcs;
  j["major_gcs"] = d.major_gcs;
  j["gc_reclaimed_bytes"] = d.gc_reclaimed;
  j["responsive"] = d.responsive;
  if (d.responsive) {
    const auto& r = d.report;
    json queue = json::array();
    for (auto& m : r.queue) {
      json e{{"type", m.type}, {"bytes", m.bytes}};
      if (!m.text.empty()) e["text"] = m.text;
      queue.push_back(std::move(e));
    }
    j["behaviour"] = r.behaviour;
    j["links"] = pids(r.links);
    j["monitors"] = pids(r.monitors);
    j["monitored_by"] = pids(r.monitored_by);
    j["parent"] = pid_text(r.parent);
    j["trap_exit"] = r.trap_exit;
    j["suspended"] = r.suspended;
    j["unhandled_messages"] = r.unhandled_messages;
    j["state"] = r.state;
    j["queue"] = std::move(queue);
  }
  return j;
}

process_details process_details_from_json(const json& j) {
  process_details d;
  d.row = process_row_from_json(j);
  d.mailbox_bytes = whole<std::uint64_t>(j.at("mailbox_bytes"));
  d.heap_bytes = whole<std::uint64_t>(j.at("heap_bytes"));
  d.state_bytes = whole<std::uint64_t>(j.at("state_bytes"));
  d.minor_gcs = whole<std::uint64_t>(j.at("minor_gcs"));
  d.major_gcs = whole<std::uint64_t>(j.at("major_gcs"));
  d.gc_reclaimed = whole<std::uint64_t>(j.at("gc_reclaimed_bytes"));
  d.responsive = j.at("responsive").get<bool>();
  if (d.responsive) {
    auto& r = d.report;
    r.behaviour = j.at("behaviour").get<std::string>();
    r.links = pids_from(j.at("links"));
    r.monitors = pids_from(j.at("monitors"));
    r.monitored_by = pids_from(j.at("monitored_by"));
    r.parent = pid_from(j.at("parent"));
    r.trap_exit = j.at("trap_exit").get<bool>();
    r.suspended = j.at("suspended").get<bool>();
    r.unhandled_messages = whole<std::uint64_t>(j.value("unhandled_messages", json(0)));  // absent from older nodes
    r.state = j.at("state").get<std::string>();
    for (auto& e : j.at("queue"))
      r.queue.push_back({e.at("type").get<std::string>(), whole<std::uint64_t>(e.at("bytes")),
                         e.value("text", std::string())});
  }
  return d;
}

json to_json(const alarm_row& a) {
  return {{"id", a.id},           {"source", a.source},
          {"severity", a.severity}, {"description", a.description},
          {"raised_at_ms", a.raised_at_ms}, {"acknowledged", a.acknowledged}};
}

json to_json(const valve_row& v) {
  return {{"id", v.id},           {"pressure", v.pressure}, {"shadow", v.shadow}, {"override", v.override_mode},
          {"offered", v.offered}, {"shed", v.shed},         {"would_shed", v.would_shed}};
}

json to_json(const node_info& n) {
  json scheds = json::array();
  for (auto& s : n.schedulers)
    scheds.push_back({{"id", s.id},
                      {"run_queue_length", s.run_queue_length},
                      {"reductions", s.reductions},
                      {"context_switches", s.context_switches},
                      {"busy_ns", s.busy_ns},
                      {"wall_ns", s.wall_ns},
                      {"running", pid_text(s.running)},
                      {"handling", s.handling}});
  json alarms = json::array();
  for (auto& a : n.alarms) alarms.push_back(to_json(a));
  json valves = json::array();
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
            {"late_replies", m.late_replies}}},
          {"gc",
           {{"minor_runs", n.gc.minor_runs},
            {"major_runs", n.gc.major_runs},
            {"bytes_reclaimed", n.gc.bytes_reclaimed},
            {"heap_bytes", n.gc.heap_bytes}}},
          {"memory",
           {{"processes_bytes", n.memory.processes},
            {"heaps_bytes", n.memory.heaps},
            {"binary_bytes", n.memory.binary},
            {"resident_bytes", n.memory.resident}}},
          {"ports",
           {{"open", n.ports.open},
            {"accepted", n.ports.accepted},
            {"bytes_in", n.ports.bytes_in},
            {"bytes_out", n.ports.bytes_out}}},
          {"alarms", std::move(alarms)},
          {"valves", std::move(valves)}};
}

node_info node_info_from_json(const json& j) {
  node_info n;
  n.name = j.at("name").get<std::string>();
  n.uptime_ns = whole<std::uint64_t>(j.at("uptime_ns"));
  n.process_count = whole<std::uint32_t>(j.at("process_count"));
  n.process_limit = whole<std::uint32_t>(j.at("process_limit"));
  n.run_queue_total = whole<std::uint64_t>(j.at("run_queue_total"));
  for (auto& s : j.at("schedulers"))
    n.schedulers.push_back({whole<unsigned>(s.at("id")), whole<std::uint64_t>(s.at("run_queue_length")),
                            whole<std::uint64_t>(s.at("reductions")), whole<std::uint64_t>(s.at("context_switches")),
                            whole<std::uint64_t>(s.at("busy_ns")), whole<std::uint64_t>(s.at("wall_ns")),
                            pid_from(s.at("running")), s.at("handling").get<std::string>()});
  auto& m = j.at("messages");
  n.messages.sent = whole<std::uint64_t>(m.at("sent"));
  n.messages.delivered = whole<std::uint64_t>(m.at("delivered"));
  n.messages.dropped = whole<std::uint64_t>(m.at("dropped"));
  n.messages.dropped_rejected = whole<std::uint64_t>(m.at("dropped_rejected"));
  n.messages.dropped_newest = whole<std::uint64_t>(m.at("dropped_newest"));
  n.messages.dropped_oldest = whole<std::uint64_t>(m.at("dropped_oldest"));
  n.messages.dead_letters = whole<std::uint64_t>(m.at("dead_letters"));
  n.messages.shed = m.value("shed", std::uint64_t{0});
  n.messages.late_replies = whole<std::uint64_t>(m.at("late_replies"));
  auto& g = j.at("gc");
  n.gc = {whole<std::uint64_t>(g.at("minor_runs")), whole<std::uint64_t>(g.at("major_runs")),
          whole<std::uint64_t>(g.at("bytes_reclaimed")), whole<std::uint64_t>(g.at("heap_bytes"))};
  auto& mem = j.at("memory");
  n.memory = {whole<std::uint64_t>(mem.at("processes_bytes")), whole<std::uint64_t>(mem.at("heaps_bytes")),
              whole<std::uint64_t>(mem.at("binary_bytes")), whole<std::uint64_t>(mem.at("resident_bytes"))};
  auto& p = j.at("ports");
  n.ports = {whole<std::uint64_t>(p.at("open")), whole<std::uint64_t>(p.at("accepted")),
             whole<std::uint64_t>(p.at("bytes_in")), whole<std::uint64_t>(p.at("bytes_out"))};
  for (auto& v : j.value("valves", json::array()))
    n.valves.push_back({v.at("id").get<std::string>(), v.at("pressure").get<double>(), v.at("shadow").get<bool>(),
                        v.at("override").get<std::string>(), whole<std::uint64_t>(v.at("offered")),
                        whole<std::uint64_t>(v.at("shed")), whole<std::uint64_t>(v.at("would_shed"))});
  for (auto& a : j.at("alarms"))
    n.alarms.push_back({a.at("id").get<std::string>(), a.at("source").get<std::string>(),
                        a.at("severity").get<std::string>(), a.at("description").get<std::string>(),
                        whole<std::uint64_t>(a.at("raised_at_ms")), a.at("acknowledged").get<bool>()});
  return n;
}

}  // namespace agner::introspect
