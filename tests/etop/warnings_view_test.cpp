// How etop shows warnings: the '!' marker on warned rows, the header line, the batch list.
#include <doctest/doctest.h>

#include "agner/etop/format.hpp"
#include "agner/etop/render.hpp"
#include "agner/etop/view.hpp"
#include "agner/etop/warnings_view.hpp"

using namespace agner;
using namespace agner::etop;

namespace {

sample warned_sample() {
  sample s;
  s.node.name = "demo";
  s.node.process_count = 2;
  s.node.process_limit = 100;
  for (std::uint32_t i : {2u, 5u}) {
    process_row r;
    r.id = pid{i, 0};
    r.registered_name = i == 2 ? "slow_consumer" : "flaky";
    r.message_queue_len = i == 2 ? 8396 : 0;
    s.rows.push_back(r);
  }
  s.warnings = {{"queue_growing", pid{2, 0}, "slow_consumer", "its queue grew in each of the last 5 samples: 120 to 8396 messages",
                 8396, 100, 1, ""},
                {"restart_intensity", pid{4, 0}, "agner::supervisor", "9 restarts seen\x1b[2J", 90, 80, 1, ""}};
  return s;
}

}  // namespace

TEST_CASE("a warned row shows a ! before its pid and the header lists the warnings briefly") {
  auto s = warned_sample();
  view_state v;
  render_input in;
  in.now = &s;
  auto rows = arrange(s.rows, v);
  in.rows = &rows;
  const frame f = render(in, v, 120, 24);
  bool line = false, marked = false, unmarked = false;
  for (auto& l : f.lines) {
    line |= l.starts_with("WARNINGS (2): <0.2.0> slow_consumer queue_growing, <0.4.0> supervisor restart_intensity");
    marked |= l.starts_with("!<0.2.0>");
    unmarked |= l.starts_with("<0.5.0>");
  }
  CHECK(line);
  CHECK(marked);
  CHECK(unmarked);
}

TEST_CASE("batch mode lists each warning after the table with its sentence, escaped") {
  auto s = warned_sample();
  view_state v;
  const auto text = render_batch(s, rates{}, arrange(s.rows, v), 120);
  CHECK(text.find("\nWARNINGS:\n! <0.2.0> slow_consumer queue_growing: its queue grew in each of the last 5 samples: 120 to 8396 messages\n") !=
        std::string::npos);
  CHECK(text.find("! <0.4.0> supervisor restart_intensity: 9 restarts seen\\x1b[2J\n") != std::string::npos);
  CHECK(text.find('\x1b') == std::string::npos);
}

TEST_CASE("no warnings: no header line and no batch list") {
  auto s = warned_sample();
  s.warnings.clear();
  CHECK(warnings_line(s.warnings).empty());
  CHECK(warnings_text(s.warnings).empty());
  CHECK_FALSE(warned(s.warnings, pid{2, 0}));
}
