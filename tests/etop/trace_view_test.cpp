// The trace pane: T opens it for an admin only, frames from the node become lines, the end says why.
#include <doctest/doctest.h>

#include <string>

#include "agner/etop/trace_view.hpp"

using namespace agner;
using namespace agner::etop;
using nlohmann::json;

namespace {
json event(std::uint64_t n, const std::string& kind, json peer, const std::string& text) {
  return {{"event", "trace"}, {"trace", 1}, {"n", n}, {"at_ms", 1'796'000'000'123}, {"kind", kind},
          {"pid", "<0.7.1>"}, {"peer", peer}, {"type", "matchstream::goal"}, {"bytes", 48},
          {"suppressed", 2}, {"text", text}};
}
process_row row(pid p) {
  process_row r;
  r.id = p;
  return r;
}
}  // namespace

TEST_CASE("T on the selected process asks for a trace as admin and explains itself to a viewer") {
  view_state v;
  const std::vector<process_row> rows{row(pid{7, 1})};
  auto out = on_key(v, 'T', rows, nullptr, 10);
  CHECK(out.what == outcome::trace);
  CHECK(out.target == pid{7, 1});
  v.admin = false;
  out = on_key(v, 'T', rows, nullptr, 10);
  CHECK(out.what == outcome::redraw);
  CHECK(v.notice.find("'T' needs the admin role") == 0);
}

TEST_CASE("the trace pane shows each message with its direction and peer, and how the trace ended") {
  trace_pane p;
  p.target = pid{7, 1};
  p.title = "scorer";
  CHECK(apply_trace_frame(p, event(1, "received", "<0.9.1>", "goal 1-0")));
  CHECK(apply_trace_frame(p, event(2, "sent", nullptr, "line\nfeed")));
  CHECK(apply_trace_frame(p, {{"event", "trace_end"}, {"trace", 1}, {"reason", "exited"}, {"exit_reason", "killed"},
                              {"shown", 2}, {"suppressed", 5}}));
  REQUIRE(p.lines.size() == 2);
  CHECK(p.lines[0].find("<0.7.1> <- <0.9.1>") != std::string::npos);
  CHECK(p.lines[0].find("goal 1-0") != std::string::npos);
  CHECK(p.lines[1].find("-> outside") != std::string::npos);
  CHECK(p.lines[1].find("line\\nfeed") != std::string::npos);  // a line feed cannot start a screen line
  CHECK(p.ended);
  CHECK(p.status == "trace ended (the process exited: killed): 2 shown, 5 not shown (rate limit)");
  view_state v;
  v.current = screen::trace;
  const frame f = trace_screen(p, v, 100, 8);
  REQUIRE(f.lines.size() == 8);
  CHECK(f.lines[0].starts_with("TRACE <0.7.1> scorer: 2 shown, 5 not shown"));
  CHECK(f.lines[1].starts_with("trace ended"));
  CHECK(f.lines[7].starts_with("Esc back"));
  CHECK(on_key(v, keys::escape, {}, nullptr, 10).what == outcome::untrace);
  CHECK(v.current == screen::table);
}
