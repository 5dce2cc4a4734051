// The supervision tree screen (docs/etop.md, "Supervision tree"): lines, keys and the frame.
#include "agner/etop/tree_view.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "agner/etop/format.hpp"
#include "agner/etop/render.hpp"
#include "agner/etop/text.hpp"
#include "agner/etop/view.hpp"

namespace agner::etop {
namespace {

using introspect::supervision_tree;
using introspect::tree_child;
using introspect::tree_supervisor;

std::string period(std::int64_t ms) {
  return ms % 1000 == 0 ? fmt::format("{}s", ms / 1000) : fmt::format("{}ms", ms);
}

/// "one_for_one  restarts 2/5 in 10s  NEAR LIMIT", or why nothing is known.
std::string supervisor_text(const tree_supervisor& s) {
  if (!s.responsive) return "busy: stayed inside a handler past the deadline";
  std::string t = fmt::format("{}  restarts {}/{} in {}", s.strategy, s.restarts, s.intensity, period(s.period_ms));
  if (introspect::near_restart_limit(s.restarts, s.intensity)) t += "  NEAR LIMIT";
  if (s.stopping) t += "  stopping children";
  return t;
}

struct flattener {
  const std::vector<pid>& collapsed;
  std::vector<tree_line> out;

  bool is_collapsed(pid p) const { return std::find(collapsed.begin(), collapsed.end(), p) != collapsed.end(); }

  void children(const tree_supervisor& s, std::size_t at, std::size_t depth) {
    if (out[at].collapsed) return;
    for (auto& c : s.children) child(c, s.id, at, depth);
    if (s.truncated)
      out.push_back({depth, at, fmt::format("{}/…", s.id), pid{}, false, false, false,
                     fmt::format("{}  … {} more children not shown (the node's entry bound)", std::string(depth * 2, ' '),
                                 s.child_count - s.children.size())});
  }

  void child(const tree_child& c, pid parent_pid, std::size_t parent, std::size_t depth) {
    tree_line l;
    l.depth = depth;
    l.parent = parent;
    l.key = fmt::format("{}/{}", parent_pid, c.id);
    l.id = c.current;
    const tree_supervisor* below = c.below.empty() ? nullptr : &c.below.front();
    l.supervisor = c.type == "supervisor" && c.current;
    l.collapsed = l.supervisor && (c.depth_truncated || (below && is_collapsed(c.current)));
    l.near_limit = below && introspect::near_restart_limit(below->restarts, below->intensity);
    std::string name = printable(c.id);
    if (!c.registered_name.empty() && c.registered_name != c.id) name += fmt::format(" ({})", printable(c.registered_name));
    l.text = fmt::format("{}{}{}  {} {} {}", std::string(depth * 2, ' '), l.supervisor ? (l.collapsed ? "[+] " : "[-] ") : "    ",
                         name, c.type, c.restart, c.status);
    if (below) l.text += "  " + supervisor_text(*below);
    if (c.depth_truncated) l.text += "  (below the depth bound)";
    out.push_back(std::move(l));
    if (below) children(*below, out.size() - 1, depth + 1);
  }

  void root(const tree_supervisor& s) {
    tree_line l;
    l.key = fmt::format("{}", s.id);
    l.id = s.id;
    l.supervisor = true;
    l.collapsed = is_collapsed(s.id);
    l.near_limit = introspect::near_restart_limit(s.restarts, s.intensity);
    l.text = fmt::format("{}{}  supervisor root  {}", l.collapsed ? "[+] " : "[-] ",
                         s.registered_name.empty() ? std::string("(no name)") : printable(s.registered_name),
                         supervisor_text(s));
    out.push_back(std::move(l));
    children(s, out.size() - 1, 1);
  }
};

}  // namespace

std::vector<tree_line> flatten(const supervision_tree& t, const std::vector<pid>& collapsed) {
  flattener f{collapsed, {}};
  for (auto& r : t.roots) f.root(r);
  return std::move(f.out);
}

void follow_tree_selection(tree_state& s) {
  for (std::size_t i = 0; i < s.lines.size(); ++i)
    if (s.lines[i].key == s.selected_key) {
      s.selected = i;
      return;
    }
  if (!s.lines.empty()) s.selected = std::min(s.selected, s.lines.size() - 1);
}

std::string render_tree_batch(const supervision_tree& t) {
  std::string out = fmt::format("supervision tree: {} supervisors, {} roots{}\n", t.supervisors, t.roots_total,
                                t.truncated ? " (cut by the node's bounds)" : "");
  out += "PID           TREE\n";
  for (auto& l : flatten(t, {})) {
    std::string line = fmt::format("{:<13} {}", l.id ? fmt::format("{}", l.id) : std::string("-"), l.text);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

namespace {

bool tree_motion(int key) {
  return key == keys::up || key == keys::down || key == keys::page_up || key == keys::page_down ||
         key == keys::home || key == keys::end;
}

}  // namespace

outcome on_tree_key(view_state& v, int key, int page) {
  auto& t = v.tree;
  const std::size_t n = t.lines.size();
  auto select = [&](std::size_t i) {
    t.selected = i;
    keep_in_view(t.selected, t.scroll, n, page);
    if (t.selected < n) t.selected_key = t.lines[t.selected].key;
  };
  if (tree_motion(key)) {
    if (n == 0) return {};
    const auto p = static_cast<std::size_t>(std::max(1, page));
    std::size_t i = std::min(t.selected, n - 1);
    if (key == keys::up) i = i ? i - 1 : 0;
    if (key == keys::down) i = std::min(i + 1, n - 1);
    if (key == keys::page_up) i = i > p ? i - p : 0;
    if (key == keys::page_down) i = std::min(i + p, n - 1);
    if (key == keys::home) i = 0;
    if (key == keys::end) i = n - 1;
    select(i);
    return {outcome::redraw};
  }
  if (key == keys::escape || key == keys::backspace || key == 't' || key == 'q') {
    t.open = false;
    v.current = screen::table;
    return {outcome::refresh};
  }
  if (n == 0 || t.selected >= n) return {};
  const tree_line& l = t.lines[t.selected];
  if (key == keys::left || key == '-') {
    if (l.supervisor && !l.collapsed) {
      t.collapsed.push_back(l.id);
    } else if (l.parent != tree_line::no_parent) {
      select(l.parent);  // as htop: Left on a child goes to its supervisor
    }
    return {outcome::redraw};
  }
  if (key == keys::right || key == '+') {
    auto it = std::find(t.collapsed.begin(), t.collapsed.end(), l.id);
    if (it != t.collapsed.end()) {
      t.collapsed.erase(it);
    } else if (l.supervisor && l.collapsed) {
      v.notice = "below the node's depth bound: Enter inspects it";
    }
    return {outcome::redraw};
  }
  if (key == keys::enter) {
    if (!l.id) {
      v.notice = "not running: nothing to inspect";
      return {outcome::redraw};
    }
    v.inspecting = {l.id};
    v.link_selected = v.link_scroll = 0;
    v.current = screen::inspect;
    return {outcome::refresh};
  }
  return {};
}

frame tree_screen(std::vector<std::string> header, const view_state& v, bool fetched, int width, int height) {
  frame f;
  f.lines = std::move(header);
  const auto& t = v.tree;
  f.reversed.push_back(static_cast<int>(f.lines.size()));
  f.lines.push_back(fit(fmt::format("{:<13} SUPERVISION TREE ({} lines; NEAR LIMIT: restarts at 80% of MaxR or more)", "PID",
                                    t.lines.size()),
                        width));
  // Why the last request failed (an older node without the op): above the last tree, if any.
  if (!t.problem.empty()) f.lines.push_back(fit(printable(t.problem), width));
  const int room = std::max(0, height - static_cast<int>(f.lines.size()) - 1);
  f.page = std::max(1, room);
  std::size_t selected = t.selected, first = t.scroll;
  keep_in_view(selected, first, t.lines.size(), f.page);
  f.first = first;
  for (int i = 0; i < room && first + static_cast<std::size_t>(i) < t.lines.size(); ++i) {
    const auto index = first + static_cast<std::size_t>(i);
    const tree_line& l = t.lines[index];
    if (index == selected) f.reversed.push_back(static_cast<int>(f.lines.size()));
    if (l.near_limit) f.bold.push_back(static_cast<int>(f.lines.size()));
    f.lines.push_back(fit(fmt::format("{:<13} {}", l.id ? fmt::format("{}", l.id) : std::string("-"), l.text), width));
  }
  if (t.lines.empty() && room > 0 && t.problem.empty())
    f.lines.push_back(fetched ? "(no supervisors on this node)" : "(asking the node for its supervision tree…)");
  f.lines.resize(static_cast<std::size_t>(std::max(0, height - 1)));
  f.lines.push_back(fit("Up/Down select  Left/- collapse  Right/+ expand  Enter inspect  Esc/t back  h help  space pause", width));
  f.lines.resize(static_cast<std::size_t>(std::max(0, height)));
  for (auto& line : f.lines) line = fit(line, width);
  return f;
}

}  // namespace agner::etop
