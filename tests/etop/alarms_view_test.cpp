// The alarms screen's keys: every operation asks first, needs the admin role, and says what it sends.
#include <doctest/doctest.h>

#include <string>

#include "agner/etop/view.hpp"

using namespace agner;
using namespace agner::etop;

namespace {

introspect::node_info node_with_alarm_and_valve() {
  introspect::node_info n;
  n.alarms = {{"disk_full", "application", "major", "the disk is full", 0, false}};
  n.valves = {{"ingress", 0.2, false, "automatic", 100, 20, 0}};
  return n;
}

outcome type(view_state& v, const std::string& text, const introspect::node_info& n) {
  outcome last;
  for (char c : text) last = on_key(v, c, {}, nullptr, 10, &n);
  return last;
}

}  // namespace

TEST_CASE("on the alarms screen a acknowledges and c clears the selected alarm only after y") {
  const auto n = node_with_alarm_and_valve();
  view_state v;
  CHECK(on_key(v, 'a', {}, nullptr, 10, &n).what == outcome::refresh);
  CHECK(v.current == screen::alarms);
  CHECK(on_key(v, 'a', {}, nullptr, 10, &n).what == outcome::redraw);
  CHECK(v.notice == "acknowledge alarm disk_full? press y to confirm, any other key cancels");
  CHECK(on_key(v, 'n', {}, nullptr, 10, &n).what == outcome::redraw);
  CHECK(v.notice == "ack_alarm cancelled; nothing was sent");
  on_key(v, 'c', {}, nullptr, 10, &n);
  const outcome out = on_key(v, 'y', {}, nullptr, 10, &n);
  CHECK(out.what == outcome::operate);
  CHECK(out.op == operation{.op = "clear_alarm", .alarm = "disk_full"});
  // On a valve, a and c explain instead.
  on_key(v, keys::down, {}, nullptr, 10, &n);
  CHECK(v.alarm_selected == 1);
  on_key(v, 'a', {}, nullptr, 10, &n);
  CHECK(v.notice == "'a' works on an alarm: select one of the active alarms first");
  CHECK(on_key(v, keys::escape, {}, nullptr, 10, &n).what == outcome::refresh);
  CHECK(v.current == screen::table);
}

TEST_CASE("n raises an alarm from a typed ID SEVERITY DESCRIPTION and refuses a bad severity") {
  const auto n = node_with_alarm_and_valve();
  view_state v;
  v.current = screen::alarms;
  on_key(v, 'n', {}, nullptr, 10, &n);
  CHECK(v.prompt == prompt_kind::set_alarm);
  type(v, "cpu_hot minor fan is loud", n);  // 'a', 'c', 'h', 'q', ' ' are typed, not acted on
  CHECK(v.current == screen::alarms);
  const outcome out = on_key(v, keys::enter, {}, nullptr, 10, &n);
  CHECK(out.what == outcome::operate);
  CHECK(out.op == operation{.op = "set_alarm", .alarm = "cpu_hot", .severity = "minor", .description = "fan is loud"});
  on_key(v, 'n', {}, nullptr, 10, &n);
  type(v, "cpu_hot scary", n);
  CHECK(on_key(v, keys::enter, {}, nullptr, 10, &n).what == outcome::redraw);
  CHECK(v.notice.starts_with("set alarm: type ID SEVERITY DESCRIPTION"));
}

TEST_CASE("o x u override the selected valve for the typed minutes, 10 by default, at most a day") {
  const auto n = node_with_alarm_and_valve();
  view_state v;
  v.current = screen::alarms;
  on_key(v, 'x', {}, nullptr, 10, &n);
  CHECK(v.notice == "'x' works on a valve: select one of the valves first");
  on_key(v, keys::end, {}, nullptr, 10, &n);
  on_key(v, 'x', {}, nullptr, 10, &n);
  CHECK(v.prompt == prompt_kind::valve_minutes);
  type(v, "5", n);
  outcome out = on_key(v, keys::enter, {}, nullptr, 10, &n);
  CHECK(out.what == outcome::operate);
  CHECK(out.op == operation{.op = "override_valve", .valve = "ingress", .mode = "closed", .for_ms = 300000});
  on_key(v, 'o', {}, nullptr, 10, &n);
  out = on_key(v, keys::enter, {}, nullptr, 10, &n);
  CHECK(out.op == operation{.op = "override_valve", .valve = "ingress", .mode = "open", .for_ms = 600000});
  on_key(v, 'u', {}, nullptr, 10, &n);
  type(v, "1441", n);
  CHECK(on_key(v, keys::enter, {}, nullptr, 10, &n).what == outcome::redraw);
  CHECK(v.notice.starts_with("override: minutes must be a whole number from 1 to 1440"));
}

TEST_CASE("r reloads the rules after y, and a viewer is told the alarm keys need the admin role") {
  const auto n = node_with_alarm_and_valve();
  view_state v;
  v.current = screen::alarms;
  on_key(v, 'r', {}, nullptr, 10, &n);
  CHECK(on_key(v, 'y', {}, nullptr, 10, &n).op == operation{.op = "reload_rules"});
  v.admin = false;
  for (int key : {'a', 'c', 'n', 'o', 'x', 'u', 'r'}) {
    CHECK(on_key(v, key, {}, nullptr, 10, &n).what == outcome::redraw);
    CHECK(v.notice.find("needs the admin role") != std::string::npos);
    CHECK_FALSE(v.confirm);
    CHECK(v.prompt == prompt_kind::none);
  }
}
