// etop on small, narrow and resized terminals, first samples, and a process that dies while inspected.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <string>
#include <vector>

#include "agner/etop/format.hpp"
#include "agner/etop/render.hpp"
#include "agner/etop/text.hpp"
#include "agner/etop/view.hpp"

using namespace agner;
using namespace agner::etop;

namespace {

sample busy_sample(std::uint32_t processes) {
  sample s;
  s.node.name = "demo";
  s.node.process_count = processes;
  s.node.process_limit = 4194304;
  s.node.schedulers = {{0, 1, 100, 10, 0, 0, {}, ""}, {1, 0, 100, 10, 0, 0, {}, ""}};
  for (std::uint32_t i = 0; i < processes; ++i) {
    process_row r;
    r.id = pid{i, 0};
    r.behaviour = "worker";
    r.message_queue_len = 100 - i;
    s.rows.push_back(r);
  }
  s.reductions_known = true;
  return s;
}

int process_lines(const frame& f) {
  int n = 0;
  for (auto& l : f.lines) n += l.starts_with("<0.");
  return n;
}

std::string titles_of(const frame& f) {
  for (auto& l : f.lines)
    if (l.starts_with("PID")) return l;
  return {};
}

bool selected_line_starts(const frame& f, const std::string& prefix) {
  for (int i : f.reversed)
    if (f.lines[static_cast<std::size_t>(i)].starts_with(prefix)) return true;
  return false;
}

}  // namespace

TEST_CASE("at 30x10 process rows still show: the header gives up lines before the table does") {
  auto s = busy_sample(12);
  history h;
  for (int i = 0; i < 5; ++i) h.add(s, {});
  render_input in;
  in.now = &s;
  in.past = &h;
  in.rows = &s.rows;
  in.link = {"demo", "admin", "", 0};
  view_state v;
  const frame small = render(in, v, 30, 10);
  REQUIRE(small.lines.size() == 10);
  CHECK(small.lines[0].starts_with("etop: demo"));
  CHECK(process_lines(small) >= 4);
  CHECK(small.page == process_lines(small));
  CHECK(titles_of(small).starts_with("PID"));
  // A notice (a kill confirmation, a refused sort) is never the line that goes.
  v.notice = "kill <0.3.0>? press y";
  bool notice = false;
  for (auto& l : render(in, v, 30, 10).lines) notice |= l.starts_with("kill <0.3.0>?");
  CHECK(notice);
  // Tall enough, the whole header is back.
  v.notice.clear();
  const frame tall = render(in, v, 100, 40);
  bool meters = false, sparks = false;
  for (auto& l : tall.lines) meters |= l.starts_with("S1 ["), sparks |= l.starts_with("runq ");
  CHECK(meters);
  CHECK(sparks);
  CHECK(process_lines(tall) == 12);
  // Even tiny terminals get a frame of exactly their size.
  for (auto [w, hgt] : {std::pair{1, 1}, {10, 3}, {20, 5}, {200, 2}}) {
    const frame f = render(in, v, w, hgt);
    CHECK(f.lines.size() == static_cast<std::size_t>(hgt));
    for (auto& l : f.lines) CHECK(display_width(l) == w);
  }
}

TEST_CASE("after End on a short terminal and growing it, every row shows again with the last selected") {
  auto s = busy_sample(12);
  render_input in;
  in.now = &s;
  in.rows = &s.rows;
  view_state v;
  const frame short_frame = render(in, v, 100, 10);
  on_key(v, keys::end, s.rows, nullptr, short_frame.page);
  CHECK(v.selected == 11);
  CHECK(v.scroll > 0);
  const frame grown = render(in, v, 100, 40);
  CHECK(process_lines(grown) == 12);
  CHECK(grown.first == 0);
  CHECK(selected_line_starts(grown, "<0.11.0>"));
  keep_in_view(v.selected, v.scroll, s.rows.size(), grown.page);  // what etop keeps after drawing
  CHECK(v.scroll == 0);
  // Shrinking again keeps the selection in view; fewer rows after a refresh keep it on a row.
  const frame shrunk = render(in, v, 100, 8);
  CHECK(selected_line_starts(shrunk, "<0.11.0>"));
  std::size_t selected = 11, first = 9;
  keep_in_view(selected, first, 5, 3);
  CHECK(selected == 4);
  CHECK(first == 2);
}

TEST_CASE("narrow terminals drop GC, AGE, HANDLER, REDS, STATUS, MEMORY in that order, never PID, name, MSGQ or the sort") {
  auto s = busy_sample(3);
  render_input in;
  in.now = &s;
  in.rows = &s.rows;
  view_state v;
  const std::vector<std::string> order{"GC", "AGE", "HANDLER", "REDS", "STATUS", "MEMORY"};
  auto has = [](const std::string& t, const std::string& col) {
    // a title as a whole word
    for (std::size_t at = t.find(col); at != std::string::npos; at = t.find(col, at + 1)) {
      const bool left = at == 0 || t[at - 1] == ' ';
      const std::size_t end = at + col.size();
      const bool right = end == t.size() || t[end] == ' ' || static_cast<unsigned char>(t[end]) >= 0x80;
      if (left && right) return true;
    }
    return false;
  };
  std::size_t dropped = 0;
  for (int width = 120; width >= 29; --width) {
    const std::string t = titles_of(render(in, v, width, 20));
    CHECK(display_width(t) == width);
    for (const char* always : {"PID", "NAME", "MSGQ"}) CHECK(t.find(always) != std::string::npos);
    // Whatever is gone went in the documented order.
    std::size_t gone = 0;
    while (gone < order.size() && !has(t, order[gone])) ++gone;
    for (std::size_t i = gone; i < order.size(); ++i) CHECK_MESSAGE(has(t, order[i]), width, " ", order[i]);
    CHECK(gone >= dropped);
    dropped = gone;
  }
  CHECK(dropped == order.size());
  // The widths docs/etop.md gives.
  const std::vector<std::pair<int, std::string>> below{{76, "GC"}, {70, "AGE"}, {63, "HANDLER"}, {54, "REDS"}, {47, "STATUS"}, {37, "MEMORY"}};
  for (auto& [width, col] : below) {
    CHECK_MESSAGE(has(titles_of(render(in, v, width, 20)), col), col, " at ", width);
    CHECK_MESSAGE(!has(titles_of(render(in, v, width - 1, 20)), col), col, " at ", width - 1);
  }
  v.sort = column_id::memory;
  CHECK(titles_of(render(in, v, 40, 20)).find("MEMORY") != std::string::npos);
  v.sort = column_id::gc;
  CHECK(titles_of(render(in, v, 40, 20)).find("GC") != std::string::npos);
}

TEST_CASE("the inspect view's go-to list scrolls so that the selected entry is always shown") {
  auto s = busy_sample(1);
  inspected d;
  d.last.row.id = pid{0, 0};
  d.last.responsive = true;
  for (std::uint32_t i = 1; i <= 30; ++i) d.last.report.links.push_back(pid{i, 0});
  render_input in;
  in.now = &s;
  in.details = &d;
  view_state v;
  v.current = screen::inspect;
  v.inspecting = {pid{0, 0}};
  frame f = render(in, v, 100, 20);
  CHECK(f.page < 30);
  CHECK(f.lines.size() == 20);
  for (int i = 0; i < 25; ++i) on_key(v, keys::down, {}, &d, f.page);
  CHECK(v.link_selected == 25);
  f = render(in, v, 100, 20);
  CHECK(selected_line_starts(f, "  <0.26.0>"));
  bool counted = false;
  for (auto& l : f.lines) counted |= l.find("of 30):") != std::string::npos;
  CHECK(counted);
  CHECK(on_key(v, keys::enter, {}, &d, f.page).what == outcome::refresh);
  CHECK(v.inspecting.back() == pid{26, 0});
}

TEST_CASE("the inspect view cuts long lines at 60x16 and always shows the selected go-to entry") {
  auto s = busy_sample(6);
  inspected d;
  d.last.row.id = pid{0, 0};
  d.last.row.registered_name = "workload_sup";
  d.last.row.behaviour = "supervisor";
  d.last.responsive = true;
  d.last.report.state = "one_for_one; children: worker_1 <0.1.0>, worker_2 <0.2.0>, worker_3 <0.3.0>, "
                        "slow_consumer <0.4.0>, producer <0.5.0>";
  for (std::uint32_t i = 1; i <= 5; ++i) d.last.report.links.push_back(pid{i, 0});
  render_input in;
  in.now = &s;
  in.details = &d;
  view_state v;
  v.current = screen::inspect;
  v.inspecting = {pid{0, 0}};
  for (std::uint32_t i = 1; i <= 5; ++i) {
    const frame f = render(in, v, 60, 16);
    CHECK(f.lines.size() == 16);
    for (auto& l : f.lines) CHECK(display_width(l) <= 60);
    CHECK(selected_line_starts(f, fmt::format("  <0.{}.0>", i)));
    bool state_cut = false;
    for (auto& l : f.lines) state_cut |= l.starts_with("state: one_for_one") && l.ends_with("~");
    CHECK(state_cut);
    on_key(v, keys::down, {}, &d, f.page);
  }
}

TEST_CASE("rates, scheduler use and REDS show '-' until there are two samples") {
  auto s = busy_sample(2);
  s.reductions_known = false;
  s.rows[0].reductions_in_window = 123456;  // a lifetime total from the window's first answer
  render_input in;
  in.now = &s;
  in.rows = &s.rows;
  view_state v;
  const frame first = render(in, v, 120, 20);
  CHECK(first.lines[1].find("reds/s -  msgs/s -  gc/s -  dead/s -") != std::string::npos);
  bool dash_meter = false;
  for (auto& l : first.lines) dash_meter |= l.find("S1 [            ]    -] q1") != std::string::npos || l.find("   -] q1") != std::string::npos;
  CHECK(dash_meter);
  for (auto& l : first.lines) CHECK(l.find("123K") == std::string::npos);
  s.reductions_known = true;
  in.rate.valid = true;
  in.rate.reductions = 2000;
  in.rate.utilisation = {0.5, 0};
  const frame second = render(in, v, 120, 20);
  CHECK(second.lines[1].find("reds/s 2000") != std::string::npos);
  bool shown = false;
  for (auto& l : second.lines) shown |= l.find("123K") != std::string::npos;
  CHECK(shown);
}

TEST_CASE("a process that dies while inspected keeps its last view, is marked dead and points to its successor") {
  auto s = busy_sample(1);
  inspected d;
  d.last.row.id = pid{4, 0};
  d.last.row.registered_name = "worker_3";
  d.last.responsive = true;
  d.last.report.state = "ticks every 10 ms";
  d.last.report.parent = pid{0, 0};
  d.dead = true;
  render_input in;
  in.now = &s;
  in.details = &d;
  view_state v;
  v.current = screen::inspect;
  v.inspecting = {pid{0, 0}, pid{4, 0}};
  frame f = render(in, v, 120, 30);
  bool dead = false, state = false;
  for (auto& l : f.lines) {
    dead |= l.starts_with("DEAD: <0.4.0> exited (the node does not say why); showing its last view");
    state |= l.starts_with("state: ticks every 10 ms");
  }
  CHECK(dead);
  CHECK(state);
  d.successor = pid{9, 1};
  f = render(in, v, 120, 30);
  bool successor = false;
  for (auto& l : f.lines) successor |= l.find("restarted as <0.9.1> (Enter goes there)") != std::string::npos;
  CHECK(successor);
  CHECK(neighbours(d).front() == pid{9, 1});
  CHECK(selected_line_starts(f, "  <0.9.1>  (restarted as this, same name)"));
  CHECK(on_key(v, keys::enter, {}, &d, f.page).what == outcome::refresh);
  CHECK(v.inspecting == std::vector<pid>{pid{0, 0}, pid{9, 1}});  // the successor replaces the dead one
}

TEST_CASE("the help scrolls on a short terminal and any other key returns") {
  render_input in;
  view_state v;
  CHECK(on_key(v, 'h', {}, nullptr, 10).what == outcome::redraw);
  frame f = render(in, v, 100, 8);
  CHECK(f.lines[0].starts_with("etop: keys, lines 1-7 of "));
  for (int i = 0; i < 3; ++i) on_key(v, keys::down, {}, nullptr, f.page);
  CHECK(v.current == screen::help);
  f = render(in, v, 100, 8);
  CHECK(f.first == 3);
  CHECK(f.lines[0].starts_with("etop: keys, lines 4-10 of "));
  on_key(v, keys::end, {}, nullptr, f.page);
  f = render(in, v, 120, 8);
  CHECK(f.lines.back().find("HANDLER what it handles now") != std::string::npos);
  CHECK(render(in, v, 100, 60).lines[0] == fit("etop: keys (any key returns)", 100));
  CHECK(on_key(v, 'x', {}, nullptr, f.page).what == outcome::refresh);
  CHECK(v.current == screen::table);
}

TEST_CASE("the selection follows its process when a refresh re-orders the rows") {
  auto s = busy_sample(6);
  view_state v;
  auto rows = arrange(s.rows, v);
  on_key(v, keys::down, rows, nullptr, 10);
  on_key(v, keys::down, rows, nullptr, 10);
  CHECK(v.selected_pid == pid{2, 0});
  s.rows[2].message_queue_len = 1000;  // now the longest queue: first row
  rows = arrange(s.rows, v);
  follow_selection(v, rows);
  CHECK(v.selected == 0);
  s.rows.erase(s.rows.begin() + 2);  // it died: the selection stays on a row
  rows = arrange(s.rows, v);
  follow_selection(v, rows);
  std::size_t first = 0;
  keep_in_view(v.selected, first, rows.size(), 10);
  CHECK(v.selected == 0);
}
