// The supervision tree (docs/protocol.md, supervision_tree): read from what each supervisor
// publishes (supervisor::report), never by a message, so a node under a restart storm still answers.
#include "agner/introspect/tree.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "agner/runtime/supervisor.hpp"

namespace agner::introspect {
namespace {

using clock = std::chrono::steady_clock;

const char* restart_name(restart_type r) {
  switch (r) {
    case restart_type::permanent: return "permanent";
    case restart_type::transient: return "transient";
    case restart_type::temporary: return "temporary";
  }
  return "permanent";
}

const char* strategy_name(restart_strategy s) {
  switch (s) {
    case restart_strategy::one_for_one: return "one_for_one";
    case restart_strategy::one_for_all: return "one_for_all";
    case restart_strategy::rest_for_one: return "rest_for_one";
  }
  return "one_for_one";
}

/// Ids and names are cut at 64 bytes: 10,000 entries then stay under 3 MB, below a session's 4 MiB
/// output bound whatever the application named its children.
constexpr std::size_t max_text = 64;
std::string cut(const std::string& s) { return s.size() > max_text ? s.substr(0, max_text) : s; }

std::string name_of(const runtime& rt, pid p) {
  auto info = rt.process_info(p);
  return info ? cut(info->registered_name) : std::string();
}

struct walker {
  const runtime& rt;
  const tree_options& o;
  const std::set<pid>& supervisors;
  clock::time_point until;
  std::uint64_t entries = 0;
  bool truncated = false;

  std::chrono::milliseconds wait_left() const {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - clock::now());
    return std::max(left, std::chrono::milliseconds(0));
  }

  /// Fills `out` for supervisor `p` at `level` (1 for a root); its own line is already counted.
  void visit(pid p, std::size_t level, tree_supervisor& out) {
    out.id = p;
    out.registered_name = name_of(rt, p);
    const std::size_t room = o.max_entries > entries ? o.max_entries - entries : 0;
    auto r = supervisor::report(rt, p, room, wait_left());
    if (r.result != supervisor_report::outcome::ok) {
      out.responsive = false;
      return;
    }
    out.strategy = strategy_name(r.flags.strategy);
    out.intensity = r.flags.intensity;
    out.period_ms = r.flags.period.count();
    out.restarts = r.restarts;
    out.stopping = r.stopping;
    out.child_count = r.child_count;
    for (auto& c : r.children) {
      if (entries >= o.max_entries) break;
      ++entries;
      tree_child& row = out.children.emplace_back();
      row.id = cut(c.id);
      row.current = c.current;
      row.restart = restart_name(c.restart);
      const bool is_sup = c.type == child_type::supervisor || (c.current && supervisors.count(c.current));
      row.type = is_sup ? "supervisor" : "worker";
      auto info = c.current ? rt.process_info(c.current) : std::nullopt;
      if (!info) {
        row.current = pid{};
        row.status = "not_running";
        continue;
      }
      row.status = std::string(to_string(info->status));
      row.registered_name = cut(info->registered_name);
      if (!supervisors.count(c.current)) continue;
      if (level >= o.depth) {
        row.depth_truncated = true;
        truncated = true;
        continue;
      }
      visit(c.current, level + 1, row.below.emplace_back());
    }
    if (out.children.size() < out.child_count) {
      out.truncated = true;
      truncated = true;
    }
  }
};

}  // namespace

bool is_supervisor(const runtime& rt, pid p) {
  auto all = supervisor::all(rt);
  return std::binary_search(all.begin(), all.end(), p);
}

supervision_tree walk_supervision_tree(const runtime& rt, const tree_options& o) {
  const auto all = supervisor::all(rt);
  const std::set<pid> supervisors(all.begin(), all.end());
  supervision_tree t;
  t.supervisors = all.size();
  std::vector<pid> roots;
  if (o.root) {
    if (supervisors.count(*o.root)) roots.push_back(*o.root);
  } else {
    // A root: no live supervisor started it. Its parent is published with it, so this is one
    // short read per supervisor (zero children copied).
    for (pid p : all) {
      auto r = supervisor::report(rt, p, 0, std::chrono::milliseconds(0));
      if (r.parent && supervisors.count(r.parent)) continue;
      roots.push_back(p);
    }
  }
  t.roots_total = roots.size();
  walker w{rt, o, supervisors, clock::now() + o.deadline};
  for (pid p : roots) {
    if (w.entries >= o.max_entries) {
      w.truncated = true;
      break;
    }
    ++w.entries;
    w.visit(p, 1, t.roots.emplace_back());
  }
  t.entries = w.entries;
  t.truncated = w.truncated;
  return t;
}

}  // namespace agner::introspect
