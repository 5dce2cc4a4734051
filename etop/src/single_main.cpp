#include "single_main.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "agner/etop/fleet.hpp"
#include "agner/etop/groups_view.hpp"
#include "agner/etop/recording.hpp"
#include "agner/etop/render.hpp"
#include "agner/snapshot/json.hpp"
#include "fleet_link.hpp"
#include "terminal.hpp"

namespace agner::etop {
namespace {

using clock = std::chrono::steady_clock;

double now_s() { return std::chrono::duration<double>(clock::now().time_since_epoch()).count(); }

double wall_s() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

clock::time_point in_seconds(double s) {
  return clock::now() + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(s));
}

std::string json_text(const nlohmann::json& j) {
  return j.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
}

/// "REDS sort unavailable (4 in use)": the node's refusal of a sort, for the status line.
std::string sort_refused(column_id sort, const std::string& why) {
  const std::string title(column_of(sort).title);
  if (const auto at = why.find("limit "); at != std::string::npos) {
    const auto digits = why.substr(at + 6, why.find_first_not_of("0123456789", at + 6) - at - 6);
    if (!digits.empty()) return fmt::format("{} sort unavailable ({} in use)", title, digits);
  }
  return fmt::format("{} sort unavailable: {}", title, why);
}

/// Refreshes the inspected process: keeps its last view when it dies, and looks for a process now
/// registered under its name (a supervisor's restart). On the link's thread, on copies.
void refresh_inspected(node_link& link, pid target, std::string& notice, std::optional<inspected>& details, double t) {
  if (details && details->last.row.id != target) details.reset();
  if (details && details->dead) {
    if (!details->successor)
      if (auto next = link.whereis(details->last.row.registered_name, t); next && *next != target) details->successor = *next;
    return;
  }
  bool gone = false;
  std::string said;
  if (auto d = link.inspect(target, said, gone, t)) {
    details.emplace();
    details->last = std::move(*d);
  } else if (gone && details) {
    details->dead = true;
    details->exit_reason = said;
    if (auto next = link.whereis(details->last.row.registered_name, t); next && *next != target) details->successor = *next;
  } else if (!said.empty()) {
    notice = said;
  }
}

/// What the view holds of the node: changed only on the owner's thread (applies run in collect()).
struct node_state {
  std::optional<sample> now, before;
  std::optional<inspected> details;
  std::optional<introspect::supervision_tree> tree_now;
  std::optional<groups_sample> grouped;  // the grouped table's last answer, while it is shown
  history past;
  column_id shown_sort = column_id::msgq;  // the sort of the rows on screen, to return to when one is refused
  bool shown_ascending = false;
  bool rows_skipped = false;  // the last sample was taken on the grouped table (no process rows)
  bool fresh = false;         // a new sample came: --record writes it once drawn
  bool fetching = false;      // a refresh is asked and not answered yet: no second one is asked
  bool ask_again = false;     // a key changed the view meanwhile: that answer is dropped, the view asked again
  double next_refresh = 0;
};

/// One refresh's answers, gathered on the link's thread.
struct answer {
  std::optional<sample> s;
  std::string refused;
  std::optional<groups_sample> g;
  std::string no_groups;
  std::optional<introspect::supervision_tree> tree;
  std::string tree_problem;
  std::optional<inspected> details;
  std::string inspect_notice;
};

/// Asks the node, on its link's thread, for everything the screen `*vp` shows (its figures and
/// `want` rows; the groups, the tree or the inspected process on those screens); the answer is
/// applied to `*st` and `*vp` by the link's collect(), as a blocking refresh used to do at once.
void ask(fleet_link& link, node_state* st, view_state* vp, std::size_t want, double t, double interval) {
  st->fetching = true;
  const view_state v = *vp;
  const bool inspecting = v.current == screen::inspect && !v.inspecting.empty();
  const pid target = inspecting ? v.inspecting.back() : pid{};
  std::optional<inspected> last = inspecting ? st->details : std::nullopt;
  // st and vp are only handed to the apply, which runs on the owner's thread.
  link.post([v, want, t, inspecting, target, last, st, vp, interval](node_link& l) mutable -> fleet_link::apply {
    auto a = std::make_shared<answer>();
    a->s = l.fetch(v, want, t, a->refused);
    if (v.current == screen::groups) a->g = l.groups(v, 200, t, a->no_groups);
    if (v.current == screen::tree) a->tree = l.tree(a->tree_problem, t);
    if (inspecting) {
      a->details = std::move(last);
      refresh_inspected(l, target, a->inspect_notice, a->details, t);
    }
    return [a, st, vp, v, t, inspecting, target, interval] {
      st->fetching = false;
      // Rows under the old filter or sort would show for a moment under the new one's title.
      if (std::exchange(st->ask_again, false)) return;
      if (a->s) {
        if (st->now && st->now->at_s < a->s->at_s) {
          st->before = std::move(st->now);
          interval_reductions(a->s->rows, st->before->rows);
          // A sample taken on the grouped table has no rows to take an interval from.
          if (column_of(v.sort).server_sort != "reductions_window" && !st->rows_skipped) a->s->reductions_known = true;
        }
        st->rows_skipped = v.current == screen::groups;
        st->now = std::move(a->s);
        st->fresh = true;
        st->shown_sort = v.sort;
        st->shown_ascending = v.ascending;
        st->past.add(*st->now, st->before ? rates_between(*st->before, *st->now) : rates{});
        // Rates and REDS need a second sample: take it soon rather than a whole interval later.
        if (!st->before || !st->now->reductions_known) st->next_refresh = t + std::min(0.5, interval);
      } else if (!a->refused.empty()) {
        if (vp->sort != st->shown_sort) {
          vp->notice = sort_refused(vp->sort, a->refused) + "; staying on the previous sort";
          vp->sort = st->shown_sort;
          vp->ascending = st->shown_ascending;
        } else {
          vp->notice = "the node refused the refresh: " + a->refused;
        }
      }
      if (v.current == screen::groups) {
        if (a->g) {
          st->grouped = std::move(a->g);
          if (!st->grouped->reductions_known) st->next_refresh = t + std::min(0.5, interval);  // REDS needs a second answer
        } else if (!a->no_groups.empty()) {
          vp->notice = "the node refused its groups: " + a->no_groups;
        }
      } else {
        st->grouped.reset();
      }
      if (v.current == screen::tree) {
        vp->tree.problem = a->tree_problem;
        if (a->tree) st->tree_now = std::move(a->tree);
      }
      if (inspecting) {
        // Only while the same process is still inspected: Enter on another asks again.
        if (vp->current == screen::inspect && !vp->inspecting.empty() && vp->inspecting.back() == target) {
          st->details = std::move(a->details);
          if (!a->inspect_notice.empty()) vp->notice = a->inspect_notice;
        }
      } else if (vp->current != screen::inspect) {
        st->details.reset();
      }
    };
  });
}

/// The node as the silent-node rule sees it (fleet.hpp): its last sample, and how long it has not answered.
member_view view_of(const std::string& name, const node_state& st, const fleet_link& link, double silent_s,
                    double rows_kept_s) {
  return {name, st.now ? &*st.now : nullptr, st.before ? &*st.before : nullptr, link.status(), silent_s, rows_kept_s};
}

}  // namespace

int single_batch(const single_options& o) {
  auto recording = o.record.empty() ? nullptr : std::make_unique<recorder>(o.record, o.force);
  fleet_link link(o.where);
  const std::string name = short_name(o.where);
  view_state v;
  v.sort = o.sort;
  const double wait = answer_wait_s(o.interval), rows_kept = stale_rows_s(o.interval);
  std::optional<sample> got;
  std::string refused;
  bool fetching = false;
  // Asks (unless the last request is still unanswered: a node silent since before is neither asked
  // nor waited for again) and waits at most `wait`; true when a new sample came. A refusal or a
  // link that is down stops etop, as before; silence does not.
  auto refresh = [&]() {
    if (!fetching) {
      fetching = true;
      // The pointers are only handed to the apply, which runs here, in collect().
      link.post([v, n = o.lines, gp = &got, rp = &refused, fp = &fetching](node_link& l) -> fleet_link::apply {
        std::string why;
        auto s = l.fetch(v, n, now_s(), why);
        return [&got = *gp, &refused = *rp, &fetching = *fp, s = std::move(s), why] {
          fetching = false;
          got = s;
          refused = why;
        };
      });
      link.wait_idle(in_seconds(wait));
    }
    got.reset();
    link.collect();
    if (!refused.empty()) throw std::runtime_error(fmt::format("cannot read {}: {}", o.where.display, sort_refused(v.sort, refused)));
    if (!fetching && !got)
      throw std::runtime_error(cannot_read(o.where.display, link.status().problem));
    return got.has_value();
  };
  // Rates and the REDS column need two samples: a first one, a short interval before the first
  // refresh printed, so even a single refresh shows real figures instead of zeros.
  if (!refresh())
    throw std::runtime_error(fmt::format("cannot read {}: not answering for {:.0f} s", o.where.display, link.busy_for()));
  std::optional<sample> before = std::move(got), shown;
  rates shown_rate;
  // 160 columns into a file or a pipe; a terminal's own width when printing to one (TERM=dumb).
  int width = 160;
  if (winsize ws{}; isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
    width = ws.ws_col;
  std::this_thread::sleep_for(std::chrono::duration<double>(std::min(o.interval, 0.5)));
  double started = 0;
  for (int i = 0; i < o.iterations; ++i) {
    if (i) std::this_thread::sleep_for(std::chrono::duration<double>(std::max(0.0, started + o.interval - now_s())));
    started = now_s();
    if (refresh()) {
      auto s = std::move(got);
      shown_rate = rates_between(*before, *s);
      interval_reductions(s->rows, before->rows);
      if (column_of(v.sort).server_sort != "reductions_window") s->reductions_known = true;
      s->rows = arrange(s->rows, v);
      before = s;
      shown = std::move(s);
    } else if (!shown) {
      shown = before;  // silent since the first sample: its rows, without rates
      shown->rows = arrange(shown->rows, v);
      shown_rate = rates{};
    }
    const double silent = silent_for(link, wait);
    std::vector<process_row> rows = silent >= rows_kept ? std::vector<process_row>{} : shown->rows;
    nlohmann::json doc = refresh_json(*shown, shown_rate, rows, wall_s());
    if (silent > 0) mark_not_answering(doc, name, silent, std::max(0.0, now_s() - shown->at_s), rows_kept);
    if (recording) recording->write(doc);
    if (o.json) {
      doc.erase("time");
      doc.erase("reductions_known");
      doc["warnings"] = nlohmann::json::array();
      for (auto& w : shown->warnings) doc["warnings"].push_back(introspect::to_json(w));
      std::printf("%s\n", json_text(doc).c_str());
    } else {
      render_input in;
      in.now = &*shown;
      in.rate = shown_rate;
      std::vector<std::string> marks;
      if (silent > 0) {
        in.mode_line = not_answering_line({name, &*shown, nullptr, link.status(), silent, rows_kept}, now_s());
        marks.assign(rows.size(), "~" + name);
        in.row_nodes = &marks;
      }
      std::printf("%s%s", i ? "\n" : "", render_batch(in, rows, width).c_str());
    }
    std::fflush(stdout);
  }
  return 0;
}

int single(const single_options& o) {
  auto recording = o.record.empty() ? nullptr : std::make_unique<recorder>(o.record, o.force);
  fleet_link link(o.where);
  const std::string name = short_name(o.where);
  trace_link tracer;  // the trace pane's own session (T)
  view_state v;
  if (o.groups) {
    v.current = screen::groups;
    v.groups.sort = o.group_sort;
  } else {
    v.sort = o.sort;
  }
  node_state st;
  st.shown_sort = v.sort;
  st.shown_ascending = v.ascending;
  terminal term;
  std::vector<process_row> rows;
  std::vector<group_row> group_rows;
  std::vector<std::string> marks;  // while silent: "~NAME" for each row kept
  // A request unanswered for `wait` makes the node NOT ANSWERING; its rows are kept `rows_kept`.
  const double wait = answer_wait_s(o.interval), rows_kept = stale_rows_s(o.interval);
  bool refresh_now = true;
  double silent_since = -1;  // when the node stopped answering (now_s); negative while it answers
  int page = 1;
  for (;;) {
    link.collect();  // the answers that came, applied here
    const double t = now_s();
    // A refresh asked while one is unanswered waits for it (a silent node is not asked again).
    if (refresh_now && st.fetching) st.ask_again = true;
    if ((refresh_now || (!v.paused && t >= st.next_refresh)) && !st.fetching) {
      refresh_now = false;
      st.next_refresh = t + o.interval;
      render_input probe;
      probe.now = st.now ? &*st.now : nullptr;
      const auto want = v.current == screen::groups
                            ? std::size_t{1}  // the header's figures only: the groups are asked for too
                            : static_cast<std::size_t>(std::max(200, table_rows(probe, term.width(), term.height())));
      ask(link, &st, &v, want, t, o.interval);
      // A node that answers at once is drawn at once (the rows under a new sort, not the old ones
      // for a moment); the keys wait for that at most 0.2 s.
      link.wait_idle(in_seconds(std::min(wait, 0.2)));
      link.collect();
    }
    v.admin = link.admin() || link.status().role.empty();
    // Silence counts from the first unanswered request and goes on through the reconnections that
    // follow the reply deadline (each a new request): else the rows came back with every retry.
    const double job_silent = silent_for(link, wait);
    if (job_silent > 0 && silent_since < 0) silent_since = now_s() - job_silent;
    if (job_silent == 0 && (link.status().problem.empty() || silent_since < 0)) silent_since = -1;
    const double silent = silent_since < 0 ? 0.0 : now_s() - silent_since;
    rows.clear();
    if (st.now && silent < rows_kept) {
      rows = arrange(st.now->rows, v);
      follow_selection(v, rows);
    }
    group_rows = st.grouped ? arrange_groups(st.grouped->result.groups, v.groups) : std::vector<group_row>{};
    follow_group_selection(v.groups, group_rows);
    if (v.current == screen::tree) {
      v.tree.lines = st.tree_now ? flatten(*st.tree_now, v.tree.collapsed) : std::vector<tree_line>{};
      follow_tree_selection(v.tree);
    }
    render_input in;
    in.tree_fetched = st.tree_now.has_value();
    in.now = st.now ? &*st.now : nullptr;
    in.rate = st.now && st.before ? rates_between(*st.before, *st.now) : rates{};
    in.past = &st.past;
    in.rows = &rows;
    in.details = st.details && v.current == screen::inspect ? &*st.details : nullptr;
    in.groups = st.grouped ? &*st.grouped : nullptr;
    in.link = link.status();
    in.unicode = term.unicode();
    if (silent > 0) {
      in.mode_line = not_answering_line(view_of(name, st, link, silent, rows_kept), now_s());
      marks.assign(rows.size(), "~" + name);
      in.row_nodes = &marks;
    }
    if (v.current == screen::trace) {
      if (!v.paused) tracer.poll(std::chrono::milliseconds(0));  // paused: the events wait in the client
      in.trace = &tracer.pane();
    }
    in.wall_ms = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now().time_since_epoch()).count());
    const frame f = render(in, v, term.width(), term.height());
    term.draw(f);
    if (st.fresh && recording) {
      // What the table showed (down to the last row on screen), not everything fetched.
      const auto shown = std::min(rows.size(), v.scroll + static_cast<std::size_t>(table_rows(in, term.width(), term.height())));
      recording->write(refresh_json(*st.now, in.rate, std::vector<process_row>(rows.begin(), rows.begin() + static_cast<long>(shown)), wall_s()));
    }
    st.fresh = false;
    // Keep what the screen showed: the selection in view after a resize or a shorter refresh.
    page = f.page;
    if (v.current == screen::table) {
      keep_in_view(v.selected, v.scroll, rows.size(), page);
    } else if (v.current == screen::groups) {
      keep_in_view(v.groups.selected, v.groups.scroll, group_rows.size(), page);
    } else if (v.current == screen::help) {
      v.help_scroll = f.first;
    } else if (v.current == screen::alarms && st.now) {
      keep_in_view(v.alarm_selected, v.alarm_scroll, st.now->node.alarms.size() + st.now->node.valves.size(), page);
    } else if (v.current == screen::inspect && in.details) {
      keep_in_view(v.link_selected, v.link_scroll, neighbours(*in.details).size(), page);
    } else if (v.current == screen::tree) {
      keep_in_view(v.tree.selected, v.tree.scroll, v.tree.lines.size(), page);
      if (v.tree.selected < v.tree.lines.size()) v.tree.selected_key = v.tree.lines[v.tree.selected].key;
    }
    // While an answer is due, look for it often; a silent node's count moves each second.
    double idle = v.paused ? 1.0 : std::max(0.0, st.next_refresh - now_s());
    if (st.fetching && silent == 0) idle = std::min(idle, 0.05);
    if (refresh_now && !st.fetching) idle = 0;
    if (v.current == screen::trace && tracer.running() && !v.paused) idle = std::min(idle, 0.1);  // show events as they come
    const int key = term.key(static_cast<int>(std::min(idle, 1.0) * 1000));
    if (key == keys::input_lost) throw std::runtime_error("the terminal stopped sending input (closed or hung up)");
    if (key < 0) continue;
    const outcome out = on_key(v, key, rows, in.details, page, st.now ? &st.now->node : nullptr);
    switch (out.what) {
      case outcome::quit: return 0;  // a request blocked on a silent node is left to its thread
      case outcome::refresh: refresh_now = true; break;
      case outcome::kill:
      case outcome::garbage_collect:
      case outcome::suspend:
      case outcome::resume:
        act_on(link, "", wait, &v.notice, [out](node_link& l, std::string& said) { l.act(out, said, now_s()); });
        refresh_now = true;
        break;
      case outcome::operate:
        act_on(link, "", wait, &v.notice, [op = out.op](node_link& l, std::string& said) { l.operate(op, said, now_s()); });
        refresh_now = true;
        break;
      case outcome::trace: {
        // The trace opens a session of its own, which a silent node would hold up.
        if (const double b = silent_for(link, wait); b > 0) {
          v.notice = fmt::format("not answering for {:.0f}s: T traces once the node answers", b);
          break;
        }
        std::string title = fmt::format("{}", out.target);
        for (auto& r : rows)
          if (r.id == out.target) title = display_name(r);
        if (in.details && in.details->last.row.id == out.target) title = display_name(in.details->last.row);
        tracer.start(o.where, out.target, "", title, o.budget);
        v.current = screen::trace;
        break;
      }
      case outcome::untrace:
        tracer.stop();
        refresh_now = true;
        break;
      default: break;
    }
  }
}

}  // namespace agner::etop
