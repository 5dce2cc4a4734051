// etop: attach to a live node and watch its processes (docs/etop.md).
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "agner/etop/groups_view.hpp"
#include "agner/etop/render.hpp"
#include "agner/etop/text.hpp"
#include "agner/snapshot/json.hpp"
#include "fleet_link.hpp"
#include "fleet_main.hpp"
#include "link.hpp"
#include "options.hpp"
#include "replay.hpp"
#include "single_main.hpp"
#include "trace_link.hpp"
#include "terminal.hpp"

namespace {

using namespace agner;
using namespace agner::etop;

/// JSON as one ASCII line (or indented): every control character and non-ASCII code point is a \u
/// escape, and invalid UTF-8 from the node becomes U+FFFD instead of an exception.
std::string json_text(const nlohmann::json& j, int indent = -1) {
  return j.dump(indent, ' ', true, nlohmann::json::error_handler_t::replace);
}

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

int inspect_once(const options& o) {
  node_link link(o.where);
  try {
    const process_details d = link.process_info(o.inspect, now_s());
    std::fputs(o.json ? (json_text(introspect::to_json(d), 2) + "\n").c_str() : render_details(d).c_str(), stdout);
    return 0;
  } catch (const introspect::client_error& e) {
    // The node's own refusal (no such process) is its sentence; a lost link names the node.
    if (e.code() != "connection") fail(e.what(), 1);
    fail(fmt::format("cannot inspect {} on {}: {}", o.inspect, o.where.display, e.what()), 1);
  }
}

/// etop --batch --groups: the grouped table (or the node's groups reply with --json) each refresh.
int batch_groups(const options& o) {
  node_link link(o.where);
  view_state v;
  v.current = screen::groups;
  v.groups.sort = *group_column_named(o.sort);
  auto fetch = [&]() {
    std::string refused;
    auto s = link.fetch(v, 1, now_s(), refused);  // the header's figures (no rows on the grouped table)
    auto g = s ? link.groups(v, o.lines, now_s(), refused) : std::nullopt;
    if (!refused.empty()) fail(fmt::format("cannot read {}'s groups: {}", o.where.display, refused), 1);
    if (!s || !g) fail(cannot_read(o.where.display, link.status(now_s()).problem), 1);
    return std::pair{std::move(*s), std::move(*g)};
  };
  // The groups window's first answer counts since each process started: take it, unprinted, a
  // short interval before the first refresh printed (as batch() does for rates).
  auto before = fetch().first;
  int width = 160;
  if (winsize ws{}; isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
    width = ws.ws_col;
  std::this_thread::sleep_for(std::chrono::duration<double>(std::min(o.interval, 0.5)));
  for (int i = 0; i < o.iterations; ++i) {
    if (i) std::this_thread::sleep_for(std::chrono::duration<double>(o.interval));
    auto [s, g] = fetch();
    const rates r = rates_between(before, s);
    if (o.json) {
      nlohmann::json doc = introspect::to_json(g.result);
      doc["groups"] = nlohmann::json::array();
      for (auto& row : arrange_groups(g.result.groups, v.groups)) doc["groups"].push_back(introspect::to_json(row));
      doc["node"] = introspect::to_json(s.node);
      std::printf("%s\n", json_text(doc).c_str());
    } else {
      std::printf("%s%s", i ? "\n" : "", render_groups_batch(s, r, g, v, width).c_str());
    }
    std::fflush(stdout);
    before = std::move(s);
  }
  return 0;
}

/// etop --batch --tree: the supervision tree, --iterations times.
int batch_tree(const options& o) {
  node_link link(o.where);
  for (int i = 0; i < o.iterations; ++i) {
    if (i) std::this_thread::sleep_for(std::chrono::duration<double>(o.interval));
    std::string refused;
    auto t = link.tree(refused, now_s());
    if (!t) fail(cannot_read(o.where.display, refused.empty() ? link.status(now_s()).problem : refused), 1);
    if (o.json) {
      std::printf("%s\n", json_text(introspect::to_json(*t)).c_str());
    } else {
      std::printf("%s%s", i ? "\n" : "", render_tree_batch(*t).c_str());
    }
    std::fflush(stdout);
  }
  return 0;
}

/// etop --batch --trace: one line per traced message until the trace ends; 1 if the node refuses it.
int trace_batch(const options& o) {
  trace_link tracer;
  const bool by_pid = o.trace.starts_with('<');
  const auto p = by_pid ? agner::parse_pid(o.trace) : std::optional<pid>(pid{});
  if (!p) fail(fmt::format("--trace: '{}' is not a pid like <0.5.1>", o.trace));
  if (!tracer.start(o.where, *p, by_pid ? std::string() : o.trace, o.trace, o.budget))
    fail(fmt::format("cannot trace {} on {}: {}", o.trace, o.where.display, tracer.pane().status), 1);
  std::size_t printed = 0;
  std::uint64_t suppressed = 0;
  // A quiet process and a stopped node look alike: after --timeout without a frame, ask the node
  // something; no answer within --timeout ends the trace ("trace lost: ..."), status 1.
  const auto quiet_limit = o.where.reply_within;
  auto heard = std::chrono::steady_clock::now();
  while (tracer.running()) {
    if (tracer.poll(std::chrono::milliseconds(500))) heard = std::chrono::steady_clock::now();
    if (tracer.running() && std::chrono::steady_clock::now() - heard >= quiet_limit) {
      if (!tracer.check()) break;
      heard = std::chrono::steady_clock::now();
    }
    const auto& pane = tracer.pane();
    // The pane keeps the newest lines; print those not printed yet (shown counts every one).
    const std::size_t fresh = static_cast<std::size_t>(std::min<std::uint64_t>(pane.shown - printed, pane.lines.size()));
    for (std::size_t i = pane.lines.size() - fresh; i < pane.lines.size(); ++i) std::printf("%s\n", pane.lines[i].c_str());
    printed = pane.shown;
    if (pane.suppressed != suppressed && !pane.ended)
      std::printf("(%llu not shown so far: rate limit)\n", static_cast<unsigned long long>(pane.suppressed));
    suppressed = pane.suppressed;
    std::fflush(stdout);
  }
  std::printf("%s\n", tracer.pane().status.c_str());
  if (tracer.pane().status.starts_with("trace lost:")) {
    std::fflush(stdout);
    fail(fmt::format("{} on {}: {}", o.trace, o.where.display, tracer.pane().status), 1);
  }
  return 0;
}

}  // namespace

namespace {

int run(int argc, char** argv) {
  // Whatever goes wrong, the terminal is restored first (the terminal object is gone by the time
  // an exception reaches here) and the reason is one sentence.
  try {
    const options o = parse(argc, argv);
    if (!o.nodes.empty()) {
      const fleet_options f{o.nodes, o.interval, *column_named(o.sort), o.json, o.iterations, o.lines, o.record, o.force};
      return o.batch ? fleet_batch(f) : fleet(f);
    }
    if (!o.replay.empty()) return replay({o.replay, *column_named(o.sort), o.batch, o.lines});
    if (!o.inspect.empty()) return inspect_once(o);
    if (o.batch && !o.trace.empty()) return trace_batch(o);
    if (o.batch && o.groups) return batch_groups(o);
    if (o.batch && o.tree) return batch_tree(o);
    single_options one{o.where, o.interval, o.groups ? column_id::msgq : *column_named(o.sort), {}, o.groups, o.json,
                       o.iterations, o.lines, o.record, o.force, o.budget};
    if (o.groups) one.group_sort = *group_column_named(o.sort);
    return o.batch ? single_batch(one) : single(one);
  } catch (const nlohmann::json::exception& e) {
    std::fprintf(stderr, "etop: the node sent a reply etop cannot read (%s)\n", printable(e.what()).c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "etop: %s\n", printable(e.what()).c_str());
  } catch (...) {
    std::fprintf(stderr, "etop: stopped by an unknown error\n");
  }
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  const int code = run(argc, argv);
  // A link thread still blocked on a silent node reads etop's statics: end without destroying them.
  if (fleet_link::left_running()) {
    std::fflush(nullptr);
    std::_Exit(code);
  }
  return code;
}

