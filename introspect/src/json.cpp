#include "agner/introspect/json.hpp"

#include <fmt/format.h>

namespace agner::introspect {
namespace {

using nlohmann::json;

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
  r.message_queue_len = j.at("message_queue_len").get<std::uint64_t>();
  r.reductions = j.at("reductions").get<std::uint64_t>();
  r.reductions_in_window = j.at("reductions_in_window").get<std::uint64_t>();
  r.messages_received = j.at("messages_received").get<std::uint64_t>();
  r.memory = j.at("memory_bytes").get<std::uint64_t>();
  r.gc_runs = j.at("gc_runs").get<std::uint64_t>();
  r.oldest_message_age_ms = j.at("oldest_message_age_ms").get<std::uint64_t>();
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
    j["state"] = r.state;
    j["queue"] = std::move(queue);
  }
  return j;
}

process_details process_details_from_json(const json& j) {
  process_details d;
  d.row = process_row_from_json(j);
  d.mailbox_bytes = j.at("mailbox_bytes").get<std::uint64_t>();
  d.heap_bytes = j.at("heap_bytes").get<std::uint64_t>();
  d.state_bytes = j.at("state_bytes").get<std::uint64_t>();
  d.minor_gcs = j.at("minor_gcs").get<std::uint64_t>();
  d.major_gcs = j.at("major_gcs").get<std::uint64_t>();
  d.gc_reclaimed = j.at("gc_reclaimed_bytes").get<std::uint64_t>();
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
    r.state = j.at("state").get<std::string>();
    for (auto& e : j.at("queue"))
      r.queue.push_back({e.at("type").get<std::string>(), e.at("bytes").get<std::uint64_t>(),
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
  n.uptime_ns = j.at("uptime_ns").get<std::uint64_t>();
  n.process_count = j.at("process_count").get<std::uint32_t>();
  n.process_limit = j.at("process_limit").get<std::uint32_t>();
  n.run_queue_total = j.at("run_queue_total").get<std::uint64_t>();
  for (auto& s : j.at("schedulers"))
    n.schedulers.push_back({s.at("id").get<unsigned>(), s.at("run_queue_length").get<std::uint64_t>(),
                            s.at("reductions").get<std::uint64_t>(), s.at("context_switches").get<std::uint64_t>(),
                            s.at("busy_ns").get<std::uint64_t>(), s.at("wall_ns").get<std::uint64_t>(),
                            pid_from(s.at("running")), s.at("handling").get<std::string>()});
  auto& m = j.at("messages");
  n.messages.sent = m.at("sent").get<std::uint64_t>();
  n.messages.delivered = m.at("delivered").get<std::uint64_t>();
  n.messages.dropped = m.at("dropped").get<std::uint64_t>();
  n.messages.dropped_rejected = m.at("dropped_rejected").get<std::uint64_t>();
  n.messages.dropped_newest = m.at("dropped_newest").get<std::uint64_t>();
  n.messages.dropped_oldest = m.at("dropped_oldest").get<std::uint64_t>();
  n.messages.dead_letters = m.at("dead_letters").get<std::uint64_t>();
  n.messages.shed = m.value("shed", std::uint64_t{0});
  n.messages.late_replies = m.at("late_replies").get<std::uint64_t>();
  auto& g = j.at("gc");
  n.gc = {g.at("minor_runs").get<std::uint64_t>(), g.at("major_runs").get<std::uint64_t>(),
          g.at("bytes_reclaimed").get<std::uint64_t>(), g.at("heap_bytes").get<std::uint64_t>()};
  auto& mem = j.at("memory");
  n.memory = {mem.at("processes_bytes").get<std::uint64_t>(), mem.at("heaps_bytes").get<std::uint64_t>(),
              mem.at("binary_bytes").get<std::uint64_t>(), mem.at("resident_bytes").get<std::uint64_t>()};
  auto& p = j.at("ports");
  n.ports = {p.at("open").get<std::uint64_t>(), p.at("accepted").get<std::uint64_t>(),
             p.at("bytes_in").get<std::uint64_t>(), p.at("bytes_out").get<std::uint64_t>()};
  for (auto& v : j.value("valves", json::array()))
    n.valves.push_back({v.at("id").get<std::string>(), v.at("pressure").get<double>(), v.at("shadow").get<bool>(),
                        v.at("override").get<std::string>(), v.at("offered").get<std::uint64_t>(),
                        v.at("shed").get<std::uint64_t>(), v.at("would_shed").get<std::uint64_t>()});
  for (auto& a : j.at("alarms"))
    n.alarms.push_back({a.at("id").get<std::string>(), a.at("source").get<std::string>(),
                        a.at("severity").get<std::string>(), a.at("description").get<std::string>(),
                        a.at("raised_at_ms").get<std::uint64_t>(), a.at("acknowledged").get<bool>()});
  return n;
}

}  // namespace agner::introspect
