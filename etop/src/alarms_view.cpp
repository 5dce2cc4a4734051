// The alarms screen's keys: acknowledge, raise and clear alarms, override valves, reload rules.
#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>

#include "agner/etop/view.hpp"

namespace agner::etop {
namespace {

constexpr std::uint64_t default_override_minutes = 10;
constexpr std::uint64_t longest_override_minutes = 24 * 60;  // the protocol's for_ms bound: a day

std::size_t entries(const introspect::node_info* node) { return node ? node->alarms.size() + node->valves.size() : 0; }

void ask(view_state& v, operation op, std::string question) {
  v.confirm = std::move(op);
  v.notice = std::move(question) + "? press y to confirm, any other key cancels";
}

/// The typed line of a prompt, Enter finishing it.
outcome finish_prompt(view_state& v) {
  const prompt_kind kind = v.prompt;
  v.prompt = prompt_kind::none;
  operation op = v.prompt_op;
  const std::string text = v.prompt_text;
  v.prompt_text.clear();
  if (kind == prompt_kind::set_alarm) {
    // ID SEVERITY DESCRIPTION...
    const auto first = text.find(' ');
    const auto second = first == std::string::npos ? std::string::npos : text.find(' ', first + 1);
    op.alarm = text.substr(0, first);
    op.severity = first == std::string::npos ? "" : text.substr(first + 1, second == std::string::npos ? std::string::npos : second - first - 1);
    op.description = second == std::string::npos ? "" : text.substr(second + 1);
    static const char* const severities[] = {"critical", "major", "minor", "warning"};
    if (op.alarm.empty() || std::find(std::begin(severities), std::end(severities), op.severity) == std::end(severities)) {
      v.notice = "set alarm: type ID SEVERITY DESCRIPTION, SEVERITY one of critical, major, minor, warning; nothing was sent";
      return {outcome::redraw};
    }
    outcome out{outcome::operate};
    out.op = op;
    v.notice = fmt::format("raising alarm {} ({})", op.alarm, op.severity);
    return out;
  }
  // valve_minutes: empty means the default.
  std::uint64_t minutes = default_override_minutes;
  if (!text.empty()) {
    char* end = nullptr;
    minutes = std::strtoull(text.c_str(), &end, 10);
    if (*end || minutes < 1 || minutes > longest_override_minutes) {
      v.notice = fmt::format("override: minutes must be a whole number from 1 to {} (a day); nothing was sent",
                             longest_override_minutes);
      return {outcome::redraw};
    }
  }
  op.for_ms = minutes * 60'000;
  outcome out{outcome::operate};
  out.op = op;
  return out;
}

}  // namespace

outcome on_alarms_key(view_state& v, int key, const introspect::node_info* node, int page) {
  if (v.prompt != prompt_kind::none) {
    if (key == keys::enter) return finish_prompt(v);
    if (key == keys::escape) {
      v.prompt = prompt_kind::none;
      v.prompt_text.clear();
      v.notice = "cancelled; nothing was sent";
    } else if (key == keys::backspace) {
      if (!v.prompt_text.empty()) v.prompt_text.pop_back();
    } else if (key >= 32 && key < 127 && v.prompt_text.size() < 200) {
      v.prompt_text.push_back(static_cast<char>(key));
    }
    return {outcome::redraw};
  }
  const std::size_t count = entries(node);
  switch (key) {
    case keys::up: case keys::down: case keys::page_up: case keys::page_down: case keys::home: case keys::end: {
      const auto p = static_cast<std::size_t>(std::max(1, page));
      std::size_t& i = v.alarm_selected;
      if (count == 0) return {outcome::redraw};
      if (key == keys::up) i = i ? i - 1 : 0;
      if (key == keys::down) i = std::min(i + 1, count - 1);
      if (key == keys::page_up) i = i > p ? i - p : 0;
      if (key == keys::page_down) i = std::min(i + p, count - 1);
      if (key == keys::home) i = 0;
      if (key == keys::end) i = count - 1;
      keep_in_view(v.alarm_selected, v.alarm_scroll, count, page);
      return {outcome::redraw};
    }
    case 'q': case keys::escape: case keys::backspace:
      v.current = screen::table;
      return {outcome::refresh};
    default: break;
  }
  if (key != 'a' && key != 'c' && key != 'n' && key != 'o' && key != 'x' && key != 'u' && key != 'r') return {};
  if (!v.admin) {
    v.notice = fmt::format("'{}' needs the admin role; this session is a viewer (attach as admin to act)", static_cast<char>(key));
    return {outcome::redraw};
  }
  if (key == 'r') {
    ask(v, {.op = "reload_rules"}, "reload the alarm rules from their file (a bad file keeps the old rules)");
    return {outcome::redraw};
  }
  if (key == 'n') {
    v.prompt = prompt_kind::set_alarm;
    v.prompt_op = {.op = "set_alarm"};
    return {outcome::redraw};
  }
  const std::size_t alarms = node ? node->alarms.size() : 0;
  const std::size_t i = v.alarm_selected;
  if (key == 'a' || key == 'c') {
    if (i >= alarms) {
      v.notice = fmt::format("'{}' works on an alarm: select one of the active alarms first", static_cast<char>(key));
      return {outcome::redraw};
    }
    const std::string& id = node->alarms[i].id;
    if (key == 'a') ask(v, {.op = "ack_alarm", .alarm = id}, fmt::format("acknowledge alarm {}", id));
    else ask(v, {.op = "clear_alarm", .alarm = id}, fmt::format("clear alarm {}", id));
    return {outcome::redraw};
  }
  // o x u: a valve
  if (i < alarms || i >= count) {
    v.notice = fmt::format("'{}' works on a valve: select one of the valves first", static_cast<char>(key));
    return {outcome::redraw};
  }
  const std::string mode = key == 'o' ? "open" : key == 'x' ? "closed" : "automatic";
  v.prompt = prompt_kind::valve_minutes;
  v.prompt_op = {.op = "override_valve", .valve = node->valves[i - alarms].id, .mode = mode};
  return {outcome::redraw};
}

}  // namespace agner::etop
