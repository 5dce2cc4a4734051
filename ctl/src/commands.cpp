#include "commands.hpp"

#include <fmt/format.h>

#include "agner/ctl/describe.hpp"
#include "agner/ctl/text.hpp"

namespace agner::ctl {

using nlohmann::json;

namespace {

const json& field(const json& reply, const char* key) {
  static const json none = json::array();
  auto it = reply.find(key);
  return it != reply.end() ? *it : none;
}

/// A process is named by pid when it looks like one, else by registered name.
void name_process(json& request, const std::string& who) { request[who.starts_with('<') ? "pid" : "name"] = who; }

/// The reply's string `key` made visible, or `fallback` when the node did not send it.
std::string echoed(const json& reply, const std::string& fallback, const char* key = "target") {
  auto it = reply.find(key);
  return visible(it != reply.end() && it->is_string() ? it->get<std::string>() : fallback);
}

}  // namespace

command system_info() {
  return {{{"op", "system_info"}}, [](const json& r) { return result{0, describe_node(field(r, "node")), ""}; }};
}

command process_info(const std::string& who, int messages, int deadline_ms) {
  json req{{"op", "process_info"}, {"messages", messages}, {"deadline_ms", deadline_ms}};
  name_process(req, who);
  return {req, [](const json& r) { return result{0, describe_process(field(r, "process")), ""}; }};
}

command top(const std::string& sort, int n, const std::string& filter) {
  json req{{"op", "top"}, {"sort", sort}, {"n", n}};
  if (!filter.empty()) req["filter"] = filter;
  return {req, [](const json& r) { return result{0, describe_top(field(r, "processes")), ""}; }};
}

command alarms() {
  return {{{"op", "alarms"}, {"history", 0}}, [](const json& r) { return result{0, describe_alarms(field(r, "active")), ""}; }};
}

command history(int n) {
  return {{{"op", "alarms"}, {"history", n}}, [](const json& r) { return result{0, describe_history(field(r, "history")), ""}; }};
}

command valves() {
  return {{{"op", "alarms"}, {"history", 0}}, [](const json& r) { return result{0, describe_valves(field(r, "valves")), ""}; }};
}

command ack_alarm(const std::string& id) {
  return {{{"op", "ack_alarm"}, {"alarm", id}},
          [id](const json& r) { return result{0, fmt::format("alarm {} acknowledged\n", echoed(r, id)), ""}; }};
}

command set_alarm(const std::string& id, const std::string& severity, const std::string& description) {
  return {{{"op", "set_alarm"}, {"alarm", id}, {"severity", severity}, {"description", description}},
          [id, severity](const json& r) {
            return result{0, fmt::format("alarm {} set ({})\n", echoed(r, id), visible(severity)), ""};
          }};
}

command clear_alarm(const std::string& id) {
  return {{{"op", "clear_alarm"}, {"alarm", id}},
          [id](const json& r) { return result{0, fmt::format("alarm {} cleared\n", echoed(r, id)), ""}; }};
}

command override_valve(const std::string& valve, const std::string& mode, std::int64_t for_ms) {
  json req{{"op", "override_valve"}, {"valve", valve}, {"mode", mode}};
  if (mode != "automatic") req["for_ms"] = for_ms;
  return {req, [valve, mode, for_ms](const json& r) {
            const std::string v = echoed(r, valve);
            return result{0,
                          mode == "automatic" ? fmt::format("valve {}: override lifted, it follows its alarms again\n", v)
                                              : fmt::format("valve {}: held {} for {:g} s\n", v, mode, static_cast<double>(for_ms) / 1000),
                          ""};
          }};
}

command reload_rules() {
  return {{{"op", "reload_rules"}}, [](const json& r) {
            if (r.value("reloaded", false)) return result{0, "rules reloaded\n", ""};
            std::string err = "rules not reloaded; the old rules stay in force:\n";
            for (auto& e : field(r, "errors")) err += "  " + visible(e.is_string() ? e.get<std::string>() : e.dump()) + "\n";
            return result{1, "", err};
          }};
}

command process_op(const std::string& op, const std::string& who, const std::string& reason) {
  json req{{"op", op}};
  name_process(req, who);
  if (op == "kill" && !reason.empty()) req["reason"] = reason;
  return {req, [op, who, reason](const json& r) {
            const std::string pid = echoed(r, who, "pid");
            const std::string named = who.starts_with('<') ? "" : " (" + visible(who) + ")";
            if (op == "kill") return result{0, fmt::format("killed {}{}, reason {}\n", pid, named, visible(reason.empty() ? "kill" : reason)), ""};
            if (op == "garbage_collect") return result{0, fmt::format("garbage collected {}{}\n", pid, named), ""};
            return result{0, fmt::format("{} {}{}\n", op == "suspend" ? "suspended" : "resumed", pid, named), ""};
          }};
}

}  // namespace agner::ctl
