#include "fleet_main.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <cstdio>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "agner/etop/fleet.hpp"
#include "agner/etop/recording.hpp"
#include "agner/etop/render.hpp"
#include "agner/snapshot/json.hpp"
#include "terminal.hpp"

namespace agner::etop {
namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double wall_s() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

struct member {
  std::string name;
  std::unique_ptr<node_link> link;
  std::optional<sample> now, before;
  history past;
};

/// Refreshes `m`: its new sample becomes `now`, the previous one `before`. False when it gave none.
bool refresh(member& m, const view_state& v, double t, std::string& notice) {
  std::string refused;
  auto s = m.link->fetch(v, 200, t, refused);
  if (!s) {
    if (!refused.empty()) notice = fmt::format("{} refused the refresh: {}", m.name, refused);
    return false;
  }
  if (m.now && m.now->at_s < s->at_s) {
    m.before = std::move(m.now);
    interval_reductions(s->rows, m.before->rows);
    if (column_of(v.sort).server_sort != "reductions_window") s->reductions_known = true;
  }
  m.now = std::move(s);
  m.past.add(*m.now, m.before ? rates_between(*m.before, *m.now) : rates{});
  return true;
}

/// An alarm or valve of the merged alarms screen is named "NODE/ID": the node it belongs to, and
/// the operation with the node's own id. Nullopt (and `notice`) when no node has that name.
std::optional<std::size_t> route(operation& op, const std::vector<member>& members, std::string& notice) {
  std::string& id = op.op == "override_valve" ? op.valve : op.alarm;
  if (op.op == "reload_rules" || op.op == "set_alarm") {
    notice = op.op + " on several nodes: Tab to one node's view first";
    return std::nullopt;
  }
  for (std::size_t i = 0; i < members.size(); ++i)
    if (id.starts_with(members[i].name + "/")) {
      id = id.substr(members[i].name.size() + 1);
      return i;
    }
  notice = fmt::format("{}: no node of that name", id);
  return std::nullopt;
}

std::vector<member> attach_all(const fleet_options& o) {
  std::vector<member> members;
  for (auto& t : o.targets) {
    member m;
    // The NODE column is narrow: a socket path shows as its file's name without ".sock".
    m.name = t.display;
    if (t.host.empty()) {
      m.name = m.name.substr(m.name.rfind('/') + 1);
      if (m.name.ends_with(".sock") && m.name.size() > 5) m.name.resize(m.name.size() - 5);
    }
    m.link = std::make_unique<node_link>(t);
    members.push_back(std::move(m));
  }
  return members;
}

std::vector<member_view> views_of(const std::vector<member>& members, double t) {
  std::vector<member_view> views;
  for (auto& m : members) views.push_back({m.name, m.now ? &*m.now : nullptr, m.before ? &*m.before : nullptr, m.link->status(t)});
  return views;
}

}  // namespace

int fleet_batch(const fleet_options& o) {
  auto recording = o.record.empty() ? nullptr : std::make_unique<recorder>(o.record, o.force);
  std::vector<member> members = attach_all(o);
  view_state v;
  v.sort = o.sort;
  auto refresh_all = [&](double t) {
    std::string notice;
    for (auto& m : members) refresh(m, v, t, notice);
    if (!notice.empty()) std::fprintf(stderr, "etop: %s\n", notice.c_str());
  };
  // Rates and REDS need two samples, as in single-node batch mode.
  refresh_all(now_s());
  if (std::none_of(members.begin(), members.end(), [](const member& m) { return m.now.has_value(); })) {
    std::string why;
    for (auto& m : members) why += fmt::format("{}{}: {}", why.empty() ? "" : "; ", m.name, m.link->status(now_s()).problem);
    throw std::runtime_error("cannot read any node: " + why);
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(std::min(o.interval, 0.5)));
  for (int i = 0; i < o.iterations; ++i) {
    if (i) std::this_thread::sleep_for(std::chrono::duration<double>(o.interval));
    const double t = now_s();
    refresh_all(t);
    const auto views = views_of(members, t);
    merged_rows merged = merge_rows(views, v);
    if (merged.rows.size() > o.lines) {
      merged.rows.resize(o.lines);
      merged.node.resize(o.lines);
      merged.node_names.resize(o.lines);
    }
    const fleet_header h = sum_nodes(views, t);
    if (recording) {
      auto line = fleet_json(views, merged, merged.rows.size(), h);
      line["time"] = wall_s();
      line["reductions_known"] = h.sum.reductions_known;
      recording->write(line);
    }
    if (o.json) {
      const auto doc = fleet_json(views, merged, merged.rows.size(), h);
      std::printf("%s\n", doc.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace).c_str());
    } else {
      render_input in;
      in.now = &h.sum;
      in.rate = h.rate;
      in.row_nodes = &merged.node_names;
      in.mode_line = h.nodes_line.substr(0, h.nodes_line.rfind("  (Tab"));
      std::printf("%s%s", i ? "\n" : "", render_batch(in, merged.rows, 160).c_str());
    }
    std::fflush(stdout);
  }
  return 0;
}

int fleet(const fleet_options& o) {
  auto recording = o.record.empty() ? nullptr : std::make_unique<recorder>(o.record, o.force);
  std::vector<member> members = attach_all(o);
  const std::size_t all = members.size();
  terminal term;
  view_state v;
  v.sort = o.sort;
  history past;
  std::size_t focus = all;  // all: the merged view; else one node's own view
  std::size_t action_node = 0, inspect_node = 0;
  std::optional<inspected> details;
  std::vector<process_row> rows;
  merged_rows merged;
  double next_refresh = 0;
  bool refresh_now = true;
  bool fresh = false;  // a new refresh came: --record writes it once drawn
  int page = 1;
  for (;;) {
    const double t = now_s();
    if (refresh_now || (!v.paused && t >= next_refresh)) {
      refresh_now = false;
      next_refresh = t + o.interval;
      fresh = false;
      for (auto& m : members) {
        fresh = refresh(m, v, t, v.notice) || fresh;
        // Rates and REDS need a second sample: take it soon rather than a whole interval later.
        if (m.now && (!m.before || !m.now->reductions_known)) next_refresh = std::min(next_refresh, t + std::min(0.5, o.interval));
      }
      v.admin = std::all_of(members.begin(), members.end(), [&](const member& m) {
        return m.link->admin() || m.link->status(t).role.empty();
      });
      if (v.current == screen::inspect && !v.inspecting.empty()) {
        std::string notice;
        bool gone = false;
        if (auto d = members[inspect_node].link->inspect(v.inspecting.back(), notice, gone, t)) {
          details.emplace();
          details->last = std::move(*d);
        } else if (gone && details) {
          details->dead = true;
          details->exit_reason = notice;
        }
      } else {
        details.reset();
      }
      if (fresh) {
        std::vector<member_view> views;
        for (auto& m : members) views.push_back({m.name, m.now ? &*m.now : nullptr, m.before ? &*m.before : nullptr, m.link->status(t)});
        const fleet_header h = sum_nodes(views, t);
        past.add(h.sum, h.rate);
      }
    }
    std::vector<member_view> views;
    const double at = now_s();
    for (auto& m : members) views.push_back({m.name, m.now ? &*m.now : nullptr, m.before ? &*m.before : nullptr, m.link->status(at)});
    render_input in;
    fleet_header h;
    const pid keep = v.selected_pid;
    if (focus == all) {
      merged = merge_rows(views, v);
      rows = merged.rows;
      h = sum_nodes(views, at);
      in.now = &h.sum;
      in.rate = h.rate;
      in.past = &past;
      in.row_nodes = &merged.node_names;
      in.mode_line = h.nodes_line;
      for (auto& view : views)
        if (!view.link.role.empty()) in.link.role = view.link.role;
    } else {
      member& m = members[focus];
      rows = m.now ? arrange(m.now->rows, v) : std::vector<process_row>{};
      in.now = m.now ? &*m.now : nullptr;
      in.rate = m.now && m.before ? rates_between(*m.before, *m.now) : rates{};
      in.past = &m.past;
      in.link = views[focus].link;
      in.mode_line = fmt::format("node {} of {}: {}  (Tab: the next node, then all)", focus + 1, all, m.name);
    }
    // Keep the operator's row: the same pid on the same node (pids repeat across nodes).
    if (keep) {
      for (std::size_t i = 0; i < rows.size(); ++i)
        if (rows[i].id == keep && (focus != all || merged.node[i] == action_node)) {
          v.selected = i;
          break;
        }
    }
    in.rows = &rows;
    in.details = details && v.current == screen::inspect ? &*details : nullptr;
    in.unicode = term.unicode();
    in.wall_ms = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now().time_since_epoch()).count());
    const frame f = render(in, v, term.width(), term.height());
    term.draw(f);
    if (fresh && recording && focus == all) {
      // What the merged table showed, down to the last row on the screen.
      const auto shown = v.scroll + static_cast<std::size_t>(table_rows(in, term.width(), term.height()));
      auto line = fleet_json(views, merged, shown, h);
      line["time"] = wall_s();
      line["reductions_known"] = h.sum.reductions_known;
      recording->write(line);
    }
    fresh = false;
    page = f.page;
    if (v.current == screen::table) {
      keep_in_view(v.selected, v.scroll, rows.size(), page);
    } else if (v.current == screen::help) {
      v.help_scroll = f.first;
    } else if (v.current == screen::alarms && in.now) {
      keep_in_view(v.alarm_selected, v.alarm_scroll, in.now->node.alarms.size() + in.now->node.valves.size(), page);
    } else if (v.current == screen::inspect && in.details) {
      keep_in_view(v.link_selected, v.link_scroll, neighbours(*in.details).size(), page);
    }
    const double wait = v.paused ? 1.0 : std::max(0.0, next_refresh - now_s());
    const int key = term.key(static_cast<int>(std::min(wait, 1.0) * 1000));
    if (key == keys::input_lost) throw std::runtime_error("the terminal stopped sending input (closed or hung up)");
    if (key < 0) continue;
    const bool typing = v.editing_filter || v.prompt != prompt_kind::none || v.confirm || v.confirm_kill ||
                        v.current == screen::help;
    if (!typing && key == '\t' && v.current == screen::table) {
      focus = next_focus(focus, all);
      v.selected = v.scroll = 0;
      v.selected_pid = {};
      v.notice.clear();
      continue;
    }
    // The grouped table is one node's (etop fetches no groups here): say so rather than wait forever.
    if (!typing && key == 'G' && v.current == screen::table) {
      v.notice = "G shows one node's groups: run etop NODE (one node), then G";
      continue;
    }
    if (!typing && v.current == screen::table) {
      // What k, g, s and Enter act on: the selected row's node.
      if (focus != all) action_node = focus;
      else if (v.selected < merged.node.size()) action_node = merged.node[v.selected];
      if (key == keys::enter) inspect_node = action_node;
    }
    if (v.current == screen::inspect) action_node = inspect_node;
    const outcome out = on_key(v, key, rows, in.details, page, in.now ? &in.now->node : nullptr);
    if (v.current == screen::table && v.selected < rows.size() && focus == all) action_node = merged.node[v.selected];
    switch (out.what) {
      case outcome::quit: return 0;
      case outcome::refresh: refresh_now = true; break;
      case outcome::kill:
      case outcome::garbage_collect:
      case outcome::suspend:
      case outcome::resume:
        members[action_node].link->act(out, v.notice, now_s());
        if (all > 1) v.notice = members[action_node].name + ": " + v.notice;
        refresh_now = true;
        break;
      case outcome::operate: {
        operation op = out.op;
        std::optional<std::size_t> node = focus == all ? route(op, members, v.notice) : std::optional<std::size_t>(focus);
        if (node) members[*node].link->operate(op, v.notice, now_s());
        refresh_now = true;
        break;
      }
      default: break;
    }
  }
}

}  // namespace agner::etop
