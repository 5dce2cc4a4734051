#include "agner/ctl/describe.hpp"

#include <ctime>

#include <fmt/format.h>

#include "agner/ctl/text.hpp"

namespace agner::ctl {

using nlohmann::json;

namespace {

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? visible(it->get<std::string>()) : std::string();
}

std::uint64_t num(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : 0;
}

double real(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : 0.0;
}

bool flag(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

const json& member(const json& j, const char* key) {
  static const json none = json::object();
  auto it = j.find(key);
  return it != j.end() ? *it : none;
}

/// The strings of a JSON array, visible and comma-separated; "-" when there are none.
std::string list(const json& j, const char* key) {
  std::string out;
  for (auto& e : member(j, key))
    if (e.is_string()) out += (out.empty() ? "" : ", ") + visible(e.get<std::string>());
  return out.empty() ? "-" : out;
}

}  // namespace

std::string human_bytes(std::uint64_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  static const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes) / 1024;
  std::size_t u = 0;
  while (v >= 1024 && u + 1 < std::size(units)) v /= 1024, ++u;
  return fmt::format("{:.1f} {}", v, units[u]);
}

std::string human_duration(std::uint64_t ns) {
  const std::uint64_t s = ns / 1'000'000'000;
  if (s < 60) return fmt::format("{:.1f}s", static_cast<double>(ns) / 1e9);
  if (s < 3600) return fmt::format("{}m {:02}s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h {:02}m {:02}s", s / 3600, s / 60 % 60, s % 60);
  return fmt::format("{}d {:02}h {:02}m", s / 86400, s / 3600 % 24, s / 60 % 60);
}

std::string utc_time(std::uint64_t ms) {
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
}

std::string describe_node(const json& node) {
  std::uint64_t busy = 0, wall = 0;
  const json& schedulers = member(node, "schedulers");
  for (auto& s : schedulers) busy += num(s, "busy_ns"), wall += num(s, "wall_ns");
  const json& m = member(node, "messages");
  const json& mem = member(node, "memory");
  const json& gc = member(node, "gc");
  std::string out = fmt::format(
      "node {}: up {}, {} of {} processes, run queue {}, {} schedulers {:.0f}% busy\n", str(node, "name"),
      human_duration(num(node, "uptime_ns")), num(node, "process_count"), num(node, "process_limit"),
      num(node, "run_queue_total"), schedulers.size(), wall ? 100.0 * static_cast<double>(busy) / static_cast<double>(wall) : 0.0);
  out += fmt::format("messages: {} sent, {} delivered, {} shed, {} dropped, {} dead letters, {} late replies\n",
                     num(m, "sent"), num(m, "delivered"), num(m, "shed"), num(m, "dropped"), num(m, "dead_letters"),
                     num(m, "late_replies"));
  out += fmt::format("memory: {} resident, {} in heaps, {} in binaries; gc: {} minor, {} major, {} reclaimed\n",
                     human_bytes(num(mem, "resident_bytes")), human_bytes(num(mem, "heaps_bytes")),
                     human_bytes(num(mem, "binary_bytes")), num(gc, "minor_runs"), num(gc, "major_runs"),
                     human_bytes(num(gc, "bytes_reclaimed")));
  std::string alarms, valves;
  for (auto& a : member(node, "alarms")) alarms += fmt::format(" {} ({})", str(a, "id"), str(a, "severity"));
  for (auto& v : member(node, "valves")) valves += fmt::format(" {} {:.0f}%", str(v, "id"), 100 * real(v, "pressure"));
  out += fmt::format("alarms: {} active{}; valves:{}\n", member(node, "alarms").size(), alarms.empty() ? "" : ":" + alarms,
                     valves.empty() ? " none" : valves);
  return out;
}

std::string describe_alarms(const json& active) {
  if (active.empty()) return "no active alarms\n";
  std::string out;
  for (auto& a : active)
    out += fmt::format("{} {} source={} raised={} {}: {}\n", str(a, "id"), str(a, "severity"), str(a, "source"),
                       utc_time(num(a, "raised_at_ms")), flag(a, "acknowledged") ? "acknowledged" : "unacknowledged",
                       str(a, "description"));
  return out;
}

std::string describe_history(const json& history) {
  if (history.empty()) return "no alarm transitions yet\n";
  std::string out;
  for (auto& e : history)
    out += fmt::format("{} {} {} -> {} source={} value={}\n", utc_time(num(e, "at_ms")), str(e, "alarm"), str(e, "from"),
                       str(e, "to"), str(e, "source"), real(e, "value"));
  return out;
}

std::string describe_valves(const json& valves) {
  if (valves.empty()) return "no valves\n";
  std::string out;
  for (auto& v : valves)
    out += fmt::format("{} pressure={:.2f} override={} mode={} offered={} shed={} would_shed={}\n", str(v, "id"),
                       real(v, "pressure"), str(v, "override"), flag(v, "shadow") ? "shadow" : "enforce",
                       num(v, "offered"), num(v, "shed"), num(v, "would_shed"));
  return out;
}

std::string describe_top(const json& processes) {
  std::string out = fmt::format("{:<14} {:<32} {:>9} {:>13} {:>10} {:>6} {:>9} {}\n", "PID", "NAME", "MSGQ",
                                "REDUCTIONS", "MEMORY", "GC", "AGE_MS", "STATUS");
  for (auto& p : processes) {
    std::string name = str(p, "registered_name");
    if (name.empty()) name = str(p, "behaviour");
    out += fmt::format("{:<14} {:<32} {:>9} {:>13} {:>10} {:>6} {:>9} {}\n", visible_cut(str(p, "pid"), 14),
                       visible_cut(name, 32), num(p, "message_queue_len"), num(p, "reductions"),
                       human_bytes(num(p, "memory_bytes")), num(p, "gc_runs"), num(p, "oldest_message_age_ms"),
                       str(p, "status"));
  }
  return out;
}

std::string describe_process(const json& p) {
  std::string name = str(p, "registered_name");
  std::string out = fmt::format("{}{}{}\n", str(p, "pid"), name.empty() ? "" : " " + name,
                                p.contains("behaviour") ? " (" + str(p, "behaviour") + ")" : "");
  out += fmt::format("status: {}   message_queue_len: {}   oldest_message_age_ms: {}   reductions: {}   messages_received: {}\n",
                     str(p, "status"), num(p, "message_queue_len"), num(p, "oldest_message_age_ms"), num(p, "reductions"),
                     num(p, "messages_received"));
  out += fmt::format("memory: {} (mailbox {}, heap {}, state {})   gc: {} minor, {} major, {} reclaimed\n",
                     human_bytes(num(p, "memory_bytes")), human_bytes(num(p, "mailbox_bytes")),
                     human_bytes(num(p, "heap_bytes")), human_bytes(num(p, "state_bytes")), num(p, "minor_gcs"),
                     num(p, "major_gcs"), human_bytes(num(p, "gc_reclaimed_bytes")));
  if (!flag(p, "responsive")) {
    out += "it did not answer before the deadline (busy in a long handler): counters only\n";
    return out;
  }
  const std::string handler = str(p, "current_handler"), parent = str(p, "parent");
  out += fmt::format("handling: {}   parent: {}   trap_exit: {}   suspended: {}\n", handler.empty() ? "-" : handler,
                     parent.empty() ? "-" : parent, flag(p, "trap_exit"), flag(p, "suspended"));
  out += fmt::format("links: {}\nmonitors: {}\nmonitored_by: {}\n", list(p, "links"), list(p, "monitors"),
                     list(p, "monitored_by"));
  out += fmt::format("state: {}\n", str(p, "state"));
  const json& queue = member(p, "queue");
  out += fmt::format("queue ({} shown):\n", queue.size());
  for (auto& m : queue) {
    const std::string text = str(m, "text");
    out += fmt::format("  {} {}{}\n", str(m, "type"), human_bytes(num(m, "bytes")), text.empty() ? "" : "  " + text);
  }
  return out;
}

}  // namespace agner::ctl
