// etop's pure parts: formatting, sorting, keys and layout, tested without a terminal.
#include <doctest/doctest.h>

#include <ctime>

#include "agner/etop/format.hpp"
#include "agner/etop/render.hpp"
#include "agner/etop/view.hpp"

using namespace agner;
using namespace agner::etop;

namespace {

process_row row(std::uint32_t index, std::uint64_t msgq, std::uint64_t memory, std::string name = "") {
  process_row r;
  r.id = pid{index, 0};
  r.message_queue_len = msgq;
  r.memory_bytes = memory;
  r.registered_name = std::move(name);
  r.behaviour = "agner::node::(anonymous namespace)::worker";
  return r;
}

sample two_scheduler_sample() {
  sample s;
  s.node.name = "demo";
  s.node.process_count = 3;
  s.node.process_limit = 4194304;
  s.node.schedulers = {{0, 1, 100, 10, 0, 0, {}, ""}, {1, 0, 100, 10, 0, 0, {}, ""}};
  s.rows = {row(0, 5, 1000, "matcher"), row(1, 0, 2048), row(2, 123456, 5u << 20, "ingest")};
  return s;
}

}  // namespace

TEST_CASE("big numbers fit a column: counts, bytes, durations and rates") {
  CHECK(count(999) == "999");
  CHECK(count(9999) == "9999");
  CHECK(count(12345) == "12.3K");
  CHECK(count(1234567) == "1.23M");
  CHECK(count(9876543210) == "9.88G");
  CHECK(count(18446744073709551615ull).size() <= 6);
  CHECK(bytes(512) == "512B");
  CHECK(bytes(1536) == "1.5K");
  CHECK(bytes(5u << 20) == "5.0M");
  CHECK(bytes(3ull << 30) == "3.0G");
  CHECK(bytes(200ull << 30) == "200G");
  CHECK(millis(75) == "75ms");
  CHECK(millis(4200) == "4.2s");
  CHECK(millis(125000) == "2m05s");
  CHECK(millis(7500000) == "2h05m");
  CHECK(uptime(3725) == "1h02m05s");
  CHECK(uptime(90061) == "1d01h01m");
  CHECK(rate(0.5) == "0.5");
  CHECK(rate(1234.5) == "1234");
  CHECK(rate(12345678) == "12.3M");
}

TEST_CASE("an alarm's time shows as local time, with the date when it is not today") {
  std::tm tm{};
  tm.tm_year = 2026 - 1900;
  tm.tm_mon = 10;
  tm.tm_mday = 29;
  tm.tm_hour = 14;
  tm.tm_min = 3;
  tm.tm_sec = 7;
  tm.tm_isdst = -1;
  const auto at_ms = static_cast<std::uint64_t>(std::mktime(&tm)) * 1000 + 250;
  CHECK(local_time(at_ms, at_ms + 3600 * 1000) == "14:03:07");
  CHECK(local_time(at_ms, at_ms + 30 * 3600 * 1000) == "2026-11-29 14:03:07");
}

TEST_CASE("fit pads or cuts to the exact width, counting UTF-8 characters") {
  CHECK(fit("abc", 5) == "abc  ");
  CHECK(fit("abc", 5, true) == "  abc");
  CHECK(fit("abcdef", 4) == "abc~");
  CHECK(fit("MSGQ▼", 6) == "MSGQ▼ ");
  CHECK(fit("▁▂▃▄▅", 3) == "▁▂~");
  CHECK(bar(0.5, 10) == "|||||     ");
  CHECK(sparkline({0, 1, 2, 4}, 6, false) == "   :=#" );
  CHECK(sparkline({1, 2, 3, 4, 5, 6, 7, 8}, 4, true) == "▅▆▇█");
}

TEST_CASE("rows sort by the chosen column, largest first for numbers, ties broken by pid") {
  view_state v;
  auto s = two_scheduler_sample();
  s.rows.push_back(row(3, 5, 10));  // ties with pid 0 on msgq
  auto rows = arrange(s.rows, v);
  REQUIRE(rows.size() == 4);
  CHECK(rows[0].id.index == 2);
  CHECK(rows[1].id.index == 0);  // 5 and 5: lower pid first
  CHECK(rows[2].id.index == 3);
  CHECK(rows[3].id.index == 1);
  v.ascending = true;
  rows = arrange(s.rows, v);
  CHECK(rows[0].id.index == 1);
  CHECK(rows[1].id.index == 0);  // still lower pid first among equals
  v = {};
  v.sort = column_id::name;  // names as shown (registered, else the behaviour's short name) A to Z
  rows = arrange(s.rows, v);
  CHECK(rows[0].registered_name == "ingest");
  CHECK(rows[1].registered_name == "matcher");
  CHECK(rows[2].id.index == 1);  // "worker"
  CHECK(short_type("agner::node::(anonymous namespace)::worker") == "worker");
  CHECK(short_type("agner::fn_behaviour<main::{lambda(agner::context&)#1}>") == "fn_behaviour<…>");
}

TEST_CASE("sort keys, < and > and I move the sort, q quits, space pauses") {
  view_state v;
  std::vector<process_row> rows;
  CHECK(on_key(v, 'M', rows, nullptr, 10).what == outcome::refresh);
  CHECK(v.sort == column_id::memory);
  on_key(v, '<', rows, nullptr, 10);
  CHECK(v.sort == column_id::reductions);
  on_key(v, '>', rows, nullptr, 10);
  on_key(v, '>', rows, nullptr, 10);
  CHECK(v.sort == column_id::gc);
  on_key(v, 'I', rows, nullptr, 10);
  CHECK(v.ascending);
  CHECK(on_key(v, ' ', rows, nullptr, 10).what == outcome::redraw);
  CHECK(v.paused);
  CHECK(on_key(v, ' ', rows, nullptr, 10).what == outcome::refresh);
  CHECK(on_key(v, 'q', rows, nullptr, 10).what == outcome::quit);
}

TEST_CASE("the filter is typed after /, kept with Enter and cleared with Esc") {
  view_state v;
  std::vector<process_row> rows;
  on_key(v, '/', rows, nullptr, 10);
  CHECK(v.editing_filter);
  for (char c : std::string("matcx")) on_key(v, c, rows, nullptr, 10);
  on_key(v, keys::backspace, rows, nullptr, 10);
  CHECK(on_key(v, 'h', rows, nullptr, 10).what == outcome::refresh);  // typed, not help
  CHECK(v.filter == "match");
  on_key(v, keys::enter, rows, nullptr, 10);
  CHECK_FALSE(v.editing_filter);
  CHECK(v.filter == "match");
  on_key(v, '/', rows, nullptr, 10);
  on_key(v, keys::escape, rows, nullptr, 10);
  CHECK(v.filter.empty());
}

TEST_CASE("selection moves by line and page within the rows, Enter inspects, Esc goes back") {
  view_state v;
  std::vector<process_row> rows;
  for (std::uint32_t i = 0; i < 30; ++i) rows.push_back(row(i, 0, 0));
  on_key(v, keys::page_down, rows, nullptr, 10);
  CHECK(v.selected == 10);
  on_key(v, keys::end, rows, nullptr, 10);
  CHECK(v.selected == 29);
  CHECK(v.scroll == 20);
  on_key(v, keys::up, rows, nullptr, 10);
  CHECK(v.selected == 28);
  on_key(v, keys::home, rows, nullptr, 10);
  CHECK(v.selected == 0);
  CHECK(v.scroll == 0);
  on_key(v, keys::down, rows, nullptr, 10);
  CHECK(on_key(v, keys::enter, rows, nullptr, 10).what == outcome::refresh);
  CHECK(v.current == screen::inspect);
  CHECK(v.inspecting.back() == pid{1, 0});
  // Following a link pushes; Esc pops back to it, then to the table.
  inspected d;
  d.last.responsive = true;
  d.last.report.links = {pid{7, 0}};
  on_key(v, keys::enter, rows, &d, 10);
  CHECK(v.inspecting.back() == pid{7, 0});
  on_key(v, keys::escape, rows, nullptr, 10);
  CHECK(v.inspecting.back() == pid{1, 0});
  on_key(v, keys::escape, rows, nullptr, 10);
  CHECK(v.current == screen::table);
}

TEST_CASE("kill asks first, a viewer is told the admin keys need the admin role") {
  view_state v;
  std::vector<process_row> rows{row(4, 0, 0)};
  CHECK(on_key(v, 'k', rows, nullptr, 10).what == outcome::redraw);
  CHECK(v.notice == "kill <0.4.0>? press y to kill, any other key to cancel");
  auto o = on_key(v, 'y', rows, nullptr, 10);
  CHECK(o.what == outcome::kill);
  CHECK(o.target == pid{4, 0});
  on_key(v, 'k', rows, nullptr, 10);
  CHECK(on_key(v, 'n', rows, nullptr, 10).what == outcome::redraw);
  CHECK(v.notice == "kill cancelled");
  CHECK(on_key(v, 'g', rows, nullptr, 10).what == outcome::garbage_collect);
  rows[0].status = process_status::suspended;
  CHECK(on_key(v, 's', rows, nullptr, 10).what == outcome::resume);
  v.admin = false;
  CHECK(on_key(v, 'k', rows, nullptr, 10).what == outcome::redraw);
  CHECK(v.notice == "'k' needs the admin role; this session is a viewer (attach as admin to act)");
}

TEST_CASE("the table lays out at 80 and at 200 columns, every line exactly as wide") {
  auto s = two_scheduler_sample();
  view_state v;
  auto rows = arrange(s.rows, v);
  history h;
  render_input in;
  in.now = &s;
  in.past = &h;
  in.rows = &rows;
  in.link = {"demo", "admin", "", 0};
  for (int width : {80, 200}) {
    const frame f = render(in, v, width, 24);
    REQUIRE(f.lines.size() == 24);
    for (auto& l : f.lines) CHECK(fit(l, width) == l);
    std::string titles;
    for (auto& l : f.lines)
      if (l.starts_with("PID")) titles = l;
    REQUIRE_FALSE(titles.empty());
    CHECK(titles.find("MSGQ▼") != std::string::npos);
    CHECK(titles.find("HANDLER") != std::string::npos);
    CHECK(titles.find("AGE") != std::string::npos);
    std::string first_row;
    for (std::size_t i = 0; i + 1 < f.lines.size(); ++i)
      if (f.lines[i].starts_with("PID")) first_row = f.lines[i + 1];
    CHECK(first_row.starts_with("<0.2.0>"));
    CHECK(first_row.find("ingest") != std::string::npos);
    CHECK(first_row.find("123K") != std::string::npos);
    CHECK(first_row.find("5.0M") != std::string::npos);
  }
  // At 60 columns the lowest-priority columns go first: GC, then AGE, then HANDLER.
  const frame narrow = render(in, v, 60, 24);
  for (auto& l : narrow.lines)
    if (l.starts_with("PID")) {
      CHECK(l.find("GC") == std::string::npos);
      CHECK(l.find("MSGQ") != std::string::npos);
    }
}

TEST_CASE("the header shows utilisation bars and rates between two samples, and a lost link") {
  auto a = two_scheduler_sample();
  auto b = a;
  a.at_s = 10;
  b.at_s = 12;
  a.node.schedulers[0].wall_ns = 1'000'000'000;
  b.node.schedulers[0].wall_ns = 3'000'000'000;
  b.node.schedulers[0].busy_ns = 1'500'000'000;  // 75% busy over the interval
  b.node.messages.delivered = 4000;              // 2000 a second
  const rates r = rates_between(a, b);
  CHECK(r.messages == doctest::Approx(2000));
  CHECK(r.utilisation[0] == doctest::Approx(0.75));
  view_state v;
  render_input in;
  in.now = &b;
  in.rate = r;
  in.link = {"demo", "", "the node closed the connection", 4};
  const frame f = render(in, v, 100, 20);
  CHECK(f.lines[1] == fit("DISCONNECTED: the node closed the connection; retrying in 4s (showing the last refresh)", 100));
  // An attempt under way on a node that accepts and never answers is not "retrying in 0s".
  in.link = {"demo", "", "the node did not answer within 20 s", 0, 7.2};
  CHECK(render(in, v, 100, 20).lines[1] ==
        fit("DISCONNECTED: the node did not answer within 20 s; reattaching, no answer for 7s (showing the last refresh)", 100));
  bool bars = false;
  for (auto& l : f.lines) bars |= l.find("S1 [|||||||||    75%] q1") != std::string::npos;
  CHECK(bars);
  CHECK(f.lines[2].find("msgs/s 2000") != std::string::npos);
}

TEST_CASE("the header shows active alarms and the valves that shed") {
  auto s = two_scheduler_sample();
  s.node.alarms = {{"backlog_high", "business", "major", "the consumer is behind", 0, true}};
  s.node.valves = {{"ingress", 0.2, false, "automatic", 20000, 7988, 0}, {"idle", 0, false, "automatic", 5, 0, 0}};
  view_state v;
  render_input in;
  in.now = &s;
  const frame f = render(in, v, 120, 20);
  bool alarms = false, shedding = false;
  for (auto& l : f.lines) {
    alarms |= l.starts_with("ALARMS (1): [major, acked] backlog_high");
    shedding |= l.starts_with("SHEDDING: ingress 20% (7988 shed)");
    CHECK(l.find("idle") == std::string::npos);  // a valve at rest is not news
  }
  CHECK(alarms);
  CHECK(shedding);
}

TEST_CASE("a replay's footer lists only the keys that work without a node") {
  sample s;
  s.node.name = "recorded";
  std::vector<process_row> rows;
  render_input in;
  in.now = &s;
  in.rows = &rows;
  view_state v;
  v.replay = true;
  const auto footer = [&] { return render(in, v, 200, 20).lines.back(); };
  CHECK(footer().starts_with("h help  / filter  < > sort  a alarms  space pause  q quit  (Enter k g s G t T need a live node)"));
  for (const char* live : {"k kill", "g gc", "s suspend", "T trace", "t tree", "G groups", "Enter inspect"})
    CHECK(footer().find(live) == std::string::npos);
  v.current = screen::alarms;
  CHECK(footer().find("a ack") == std::string::npos);
  v.replay = false;
  CHECK(footer().find("a ack") != std::string::npos);  // live, as admin
}
