#include "fleet_main.hpp"

#include <algorithm>
#include <chrono>
#include <functional>
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
#include "fleet_link.hpp"
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
  std::unique_ptr<fleet_link> link;  ///< drives the node on a thread of its own
  std::optional<sample> now, before;
  history past;
  bool fetching = false;  ///< a refresh is asked and not answered yet: no second one is asked
  bool fresh = false;     ///< a new sample came since the refresh was asked
  bool in_round = false;  ///< asked by the open refresh (one silent since before is not)
  bool ask_again = false; ///< a key changed the view while a refresh was unanswered: ask once it is
  std::optional<double> silent_since;  ///< when it stopped answering (now_s), if it has
};

/// Takes `s`, a new sample of m's node: it becomes `now`, the previous one `before`.
void store(member& m, sample s, bool reductions_known_anyway) {
  if (m.now && m.now->at_s < s.at_s) {
    m.before = std::move(m.now);
    interval_reductions(s.rows, m.before->rows);
    if (reductions_known_anyway) s.reductions_known = true;
  }
  m.now = std::move(s);
  m.past.add(*m.now, m.before ? rates_between(*m.before, *m.now) : rates{});
  m.fresh = true;
}

/// Asks m's node for a refresh on its link's thread, unless the last one is still unanswered; the
/// answer is stored by the link's collect(). A refusal goes to `*notice` (outlives every collect).
/// True when asked.
bool ask(member& m, const view_state& v, double t, std::string* notice) {
  if (m.fetching) return false;
  m.fetching = true;
  const bool known_anyway = column_of(v.sort).server_sort != "reductions_window";
  m.link->post([v, t, mp = &m, notice, known_anyway](node_link& l) -> fleet_link::apply {
    std::string refused;
    auto s = l.fetch(v, 200, t, refused);
    return [mp, notice, known_anyway, s = std::move(s), refused]() mutable {
      mp->fetching = false;
      if (mp->ask_again) return;  // taken under the view before a key changed it: asked again at once
      if (s) store(*mp, std::move(*s), known_anyway);
      else if (!refused.empty()) *notice = fmt::format("{} refused the refresh: {}", mp->name, refused);
    };
  });
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
  // The longest name that fits: a label may hold a '/' (a/node) and another be its first part.
  std::optional<std::size_t> best;
  for (std::size_t i = 0; i < members.size(); ++i)
    if (id.starts_with(members[i].name + "/") && (!best || members[i].name.size() > members[*best].name.size())) best = i;
  if (best) {
    id = id.substr(members[*best].name.size() + 1);
    return best;
  }
  notice = fmt::format("{}: no node of that name", id);
  return std::nullopt;
}

std::vector<member> attach_all(const fleet_options& o) {
  std::vector<member> members;
  std::vector<std::string> written;
  for (auto& t : o.targets) written.push_back(t.display);
  const auto labels = node_labels(written);  // short (the NODE column is narrow) and unique
  for (std::size_t i = 0; i < o.targets.size(); ++i) {
    const auto& t = o.targets[i];
    member m;
    m.name = labels[i];
    m.link = std::make_unique<fleet_link>(t);
    members.push_back(std::move(m));
  }
  return members;
}

/// What the pure view sees of each member now: a node whose oldest request has waited `wait_s`
/// or more is silent, its rows kept `rows_kept_s`.
/// Silence counts from the first unanswered request on, through the reconnections that follow the
/// reply deadline (each a new request), until the node answers.
std::vector<member_view> views_of(std::vector<member>& members, double wait_s, double rows_kept_s) {
  std::vector<member_view> views;
  for (auto& m : members) {
    const double b = m.link->busy_for(), t = now_s();
    const connection link = m.link->status();
    if (b >= wait_s && !m.silent_since) m.silent_since = t - b;
    if (b < wait_s && (link.problem.empty() || !m.silent_since)) m.silent_since.reset();
    views.push_back({m.name, m.now ? &*m.now : nullptr, m.before ? &*m.before : nullptr, link,
                     m.silent_since ? t - *m.silent_since : 0.0, rows_kept_s});
  }
  return views;
}

}  // namespace

int fleet_batch(const fleet_options& o) {
  auto recording = o.record.empty() ? nullptr : std::make_unique<recorder>(o.record, o.force);
  std::vector<member> members = attach_all(o);
  view_state v;
  v.sort = o.sort;
  const double wait = answer_wait_s(o.interval);
  // Every node is asked at once; the refresh waits for them at most `wait`, and goes on without a
  // node that has not answered by then (it is printed as not answering, its last rows marked).
  auto refresh_all = [&](double t) {
    std::string notice;
    std::vector<member*> asked;  // one still silent since an earlier refresh is not asked (nor waited for) again
    for (auto& m : members)
      if (ask(m, v, t, &notice)) asked.push_back(&m);
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                               std::chrono::duration<double>(wait));
    for (member* m : asked) m->link->wait_idle(until);
    for (auto& m : members) m.link->collect();
    if (!notice.empty()) std::fprintf(stderr, "etop: %s\n", notice.c_str());
  };
  // Rates and REDS need two samples, as in single-node batch mode.
  refresh_all(now_s());
  if (std::none_of(members.begin(), members.end(), [](const member& m) { return m.now.has_value(); })) {
    std::string why;
    for (auto& m : members) {
      const double b = m.link->busy_for();
      why += fmt::format("{}{}: {}", why.empty() ? "" : "; ", m.name,
                         b > 0 ? fmt::format("not answering for {:.0f} s", b) : m.link->status().problem);
    }
    throw std::runtime_error("cannot read any node: " + why);
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(std::min(o.interval, 0.5)));
  double started = 0;
  for (int i = 0; i < o.iterations; ++i) {
    if (i) std::this_thread::sleep_for(std::chrono::duration<double>(std::max(0.0, started + o.interval - now_s())));
    const double t = started = now_s();
    refresh_all(t);
    const auto views = views_of(members, wait, stale_rows_s(o.interval));
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
      in.warning_nodes = &h.warning_nodes;
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
  // A refresh asks every node at once and is complete when every node asked has answered, or
  // after `wait`: a node still silent then is marked, and its last rows are kept `rows_kept`.
  const double wait = answer_wait_s(o.interval), rows_kept = stale_rows_s(o.interval);
  bool round_open = false;
  double round_t = 0, round_until = 0;
  for (;;) {
    for (auto& m : members) m.link->collect();  // the answers that came, applied here
    const double t = now_s();
    // The answer that was due came with the view as it was before the key: ask again, under the
    // new filter or sort, rather than showing the old rows a whole interval.
    for (auto& m : members)
      if (m.ask_again && !m.fetching) {
        m.ask_again = false;
        ask(m, v, t, &v.notice);
      }
    if (refresh_now || (!v.paused && t >= next_refresh)) {
      const bool by_key = refresh_now;
      refresh_now = false;
      next_refresh = t + o.interval;
      round_open = true;
      round_t = t;
      round_until = t + wait;
      std::vector<member*> asked;
      for (auto& m : members) {
        m.fresh = false;
        m.in_round = ask(m, v, t, &v.notice);
        if (m.in_round) asked.push_back(&m);
        else if (by_key) m.ask_again = true;
      }
      if (v.current == screen::inspect && !v.inspecting.empty()) {
        member& m = members[inspect_node];
        if (m.link->busy_for() < wait)
          m.link->post([p = v.inspecting.back(), t, dp = &details, vp = &v](node_link& l) -> fleet_link::apply {
            std::string notice;
            bool gone = false;
            auto d = l.inspect(p, notice, gone, t);
            return [p, dp, vp, d = std::move(d), notice, gone]() mutable {
              if (vp->current != screen::inspect || vp->inspecting.empty() || vp->inspecting.back() != p) return;
              if (d) {
                dp->emplace();
                (*dp)->last = std::move(*d);
              } else if (gone && *dp) {
                (*dp)->dead = true;
                (*dp)->exit_reason = notice;
              }
            };
          });
      } else {
        details.reset();
      }
      // Nodes that answer at once are drawn together, as one refresh (the rows under a new filter
      // or sort, not the old ones for a moment); the keys wait for that at most 0.2 s, and only
      // when a node has just gone silent (one already silent is not asked again).
      const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int>(std::min(wait, 0.2) * 1000));
      for (member* m : asked) m->link->wait_idle(until);  // and the inspected process, asked above
      for (auto& m : members) m.link->collect();
    }
    if (round_open && (now_s() >= round_until ||
                       std::none_of(members.begin(), members.end(), [](const member& m) { return m.in_round && m.fetching; }))) {
      round_open = false;
      fresh = std::any_of(members.begin(), members.end(), [](const member& m) { return m.fresh; });
      v.admin = std::all_of(members.begin(), members.end(), [&](const member& m) {
        return m.link->admin() || m.link->status().role.empty();
      });
      for (auto& m : members)
        // Rates and REDS need a second sample: take it soon rather than a whole interval later.
        if (m.fresh && (!m.before || !m.now->reductions_known)) next_refresh = std::min(next_refresh, round_t + std::min(0.5, o.interval));
      if (fresh) {
        const fleet_header h = sum_nodes(views_of(members, wait, rows_kept), round_t);
        past.add(h.sum, h.rate);
      }
    }
    const double at = now_s();
    const std::vector<member_view> views = views_of(members, wait, rows_kept);
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
      in.warning_nodes = &h.warning_nodes;
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
      if (views[focus].silent_s > 0)
        in.mode_line = fmt::format("node {} of {}: {} NOT ANSWERING for {:.0f}s, the rows below are {:.0f}s old  (Tab: the next node, then all)",
                                   focus + 1, all, m.name, views[focus].silent_s, m.now ? std::max(0.0, at - m.now->at_s) : 0.0);
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
    // While a refresh is open, look for answers often; otherwise wake at least each second (the
    // "not answering for N s" count moves).
    const double idle_s = v.paused ? 1.0 : std::max(0.0, next_refresh - now_s());
    const int key = term.key(static_cast<int>(std::min(idle_s, round_open ? 0.05 : 1.0) * 1000));
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
        act_on(*members[action_node].link, members[action_node].name, wait, &v.notice, [out](node_link& l, std::string& said) { l.act(out, said, now_s()); });
        refresh_now = true;
        break;
      case outcome::operate: {
        operation op = out.op;
        std::optional<std::size_t> node = focus == all ? route(op, members, v.notice) : std::optional<std::size_t>(focus);
        if (node) act_on(*members[*node].link, members[*node].name, wait, &v.notice, [op](node_link& l, std::string& said) { l.operate(op, said, now_s()); });
        refresh_now = true;
        break;
      }
      default: break;
    }
  }
}

}  // namespace agner::etop
