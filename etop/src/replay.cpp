#include "replay.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

#include "agner/etop/recording.hpp"
#include "agner/etop/render.hpp"
#include "agner/etop/text.hpp"
#include "terminal.hpp"

namespace agner::etop {
namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

rates rate_at(const std::vector<recorded_refresh>& all, std::size_t i) {
  if (all[i].rate.valid) return all[i].rate;
  return i ? rates_between(all[i - 1].now, all[i].now) : rates{};
}

/// The sparklines as they stood at refresh `i`: rebuilt from the refreshes before it.
history history_at(const std::vector<recorded_refresh>& all, std::size_t i) {
  history h;
  for (std::size_t j = i + 1 > h.capacity ? i + 1 - h.capacity : 0; j <= i; ++j) h.add(all[j].now, rate_at(all, j));
  return h;
}

/// Seconds until the refresh after `i` is due at `speed`: the recorded gap, at most a minute (a
/// recording resumed after a long pause does not stall the replay).
double gap(const std::vector<recorded_refresh>& all, std::size_t i, double speed) {
  if (i + 1 >= all.size()) return 1;
  return std::clamp(all[i + 1].time_s - all[i].time_s, 0.0, 60.0) / speed;
}

/// The rows of refresh `at` that pass the filter, in the view's order, and each one's node (a
/// recording of several nodes; else `nodes` stays empty). Ties by pid, then by node name.
std::vector<process_row> arranged(const recorded_refresh& at, const view_state& v, std::vector<std::string>& nodes) {
  nodes.clear();
  if (at.row_nodes.empty()) return arrange(filtered(at.now.rows, v.filter), v);
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < at.now.rows.size() && i < at.row_nodes.size(); ++i)
    if (!filtered({at.now.rows[i]}, v.filter).empty()) order.push_back(i);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (row_before(at.now.rows[a], at.now.rows[b], v)) return true;
    if (row_before(at.now.rows[b], at.now.rows[a], v)) return false;
    return at.row_nodes[a] < at.row_nodes[b];
  });
  std::vector<process_row> rows;
  for (auto i : order) {
    rows.push_back(at.now.rows[i]);
    nodes.push_back(at.row_nodes[i]);
  }
  return rows;
}

int print_all(const replay_options& o, const std::vector<recorded_refresh>& all) {
  view_state v;
  v.sort = o.sort;
  for (std::size_t i = 0; i < all.size(); ++i) {
    std::vector<std::string> nodes;
    auto rows = arranged(all[i], v, nodes);
    if (rows.size() > o.lines) rows.resize(o.lines);
    if (nodes.size() > o.lines) nodes.resize(o.lines);
    const replay_state r{i, all.size(), false, 1};
    std::string where = replay_line(r, o.file, all[i].time_s);
    where.resize(where.find("  ("));  // the keys mean nothing on paper
    render_input in;
    in.now = &all[i].now;
    in.rate = rate_at(all, i);
    in.row_nodes = nodes.empty() ? nullptr : &nodes;
    in.mode_line = all[i].nodes_line;
    std::printf("%s%s\n%s", i ? "\n" : "", where.c_str(), render_batch(in, rows, 160).c_str());
  }
  return 0;
}

}  // namespace

int replay(const replay_options& o) {
  std::ifstream in(o.file);
  if (!in) throw std::runtime_error(fmt::format("--replay: cannot open {}: {}", o.file, std::strerror(errno)));
  std::string cut;
  const std::vector<recorded_refresh> all = read_recording(in, o.file, &cut);
  if (!cut.empty()) std::fprintf(stderr, "etop: %s\n", printable(cut).c_str());
  if (o.batch) return print_all(o, all);

  terminal term;
  view_state v;
  v.sort = o.sort;
  v.notice = cut;
  v.replay = true;
  replay_state r;
  r.count = all.size();
  std::vector<process_row> rows;
  std::vector<std::string> nodes;  // a recording of several nodes: each row's node
  double next_step = now_s() + gap(all, 0, r.speed);
  int page = 1;
  for (;;) {
    if (!r.paused && now_s() >= next_step) {
      if (r.index + 1 < r.count) ++r.index;
      else r.paused = true;  // the end: stay on the last refresh
      next_step = now_s() + gap(all, r.index, r.speed);
    }
    const recorded_refresh& at = all[r.index];
    rows = arranged(at, v, nodes);
    follow_selection(v, rows);
    const history past = history_at(all, r.index);
    render_input input;
    input.now = &at.now;
    input.rate = rate_at(all, r.index);
    input.past = &past;
    input.rows = &rows;
    input.link.target = at.now.node.name;
    input.unicode = term.unicode();
    input.wall_ms = static_cast<std::uint64_t>(at.time_s * 1000);
    input.mode_line = replay_line(r, o.file, at.time_s) + (at.nodes_line.empty() ? "" : "\n" + at.nodes_line);
    input.row_nodes = nodes.empty() ? nullptr : &nodes;
    const frame f = render(input, v, term.width(), term.height());
    term.draw(f);
    page = f.page;
    if (v.current == screen::table) {
      keep_in_view(v.selected, v.scroll, rows.size(), page);
    } else if (v.current == screen::help) {
      v.help_scroll = f.first;
    } else if (v.current == screen::alarms) {
      keep_in_view(v.alarm_selected, v.alarm_scroll, at.now.node.alarms.size() + at.now.node.valves.size(), page);
    }
    const double wait = r.paused ? 1.0 : std::max(0.0, next_step - now_s());
    const int key = term.key(static_cast<int>(std::min(wait, 1.0) * 1000));
    if (key == keys::input_lost) throw std::runtime_error("the terminal stopped sending input (closed or hung up)");
    if (key < 0) continue;
    // Typing (a filter, a prompt, a confirmation) and the help screen take every key first.
    const bool typing = v.editing_filter || v.prompt != prompt_kind::none || v.confirm || v.confirm_kill ||
                        v.current == screen::help;
    if (!typing) {
      const std::size_t was = r.index;
      const double speed = r.speed;
      v.notice.clear();
      if (on_replay_key(r, key, v.notice)) {
        if (r.index != was || r.speed != speed) next_step = now_s() + gap(all, r.index, r.speed);
        continue;
      }
      if (key == keys::enter && v.current == screen::table) {
        v.notice = "a recording holds the rows shown, not each process's details: Enter inspects on a live node only";
        continue;
      }
      // The groups are the node's, counted over every process: a recording holds neither.
      if (key == 'G' && v.current == screen::table) {
        v.notice = "a recording holds the rows shown, not the node's groups: G works on a live node only";
        continue;
      }
      if ((key == 'k' || key == 'g' || key == 's' || key == 'T') && v.current == screen::table) {
        v.notice = "a replay sends nothing: there is no node (k g s T act on a live node)";
        continue;
      }
      if (key == 't' && v.current == screen::table) {
        v.notice = "a recording holds the rows shown, not the supervision tree: t works on a live node only";
        continue;
      }
    }
    const outcome out = on_key(v, key, rows, nullptr, page, &at.now.node);
    if (out.what == outcome::quit) return 0;
    if (out.what == outcome::kill || out.what == outcome::garbage_collect || out.what == outcome::suspend ||
        out.what == outcome::resume || out.what == outcome::operate)
      v.notice = "a replay sends nothing: there is no node";
  }
}

}  // namespace agner::etop
