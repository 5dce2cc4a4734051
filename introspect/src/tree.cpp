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

std::string pid_text(pid p) { return fmt::format("{}", p); }

pid pid_from(const nlohmann::json& j) {
  if (j.is_null()) return pid{};
  auto p = parse_pid(j.get<std::string>());
  if (!p) throw nlohmann::json::other_error::create(501, "a pid is not of the form <0.I.S>", &j);
  return *p;
}

nlohmann::json supervisor_json(const tree_supervisor& s) {
  nlohmann::json j{{"pid", pid_text(s.id)}, {"name", s.registered_name}, {"responsive", s.responsive}};
  if (!s.responsive) return j;
  j["strategy"] = s.strategy;
  j["intensity"] = s.intensity;
  j["period_ms"] = s.period_ms;
  j["restarts"] = s.restarts;
  j["stopping"] = s.stopping;
  j["child_count"] = s.child_count;
  j["truncated"] = s.truncated;
  nlohmann::json children = nlohmann::json::array();
  for (auto& c : s.children) {
    nlohmann::json row{{"id", c.id},         {"pid", c.current ? nlohmann::json(pid_text(c.current)) : nlohmann::json()},
                       {"name", c.registered_name}, {"restart", c.restart}, {"type", c.type}, {"status", c.status}};
    if (!c.below.empty()) row["supervisor"] = supervisor_json(c.below.front());
    if (c.depth_truncated) row["depth_truncated"] = true;
    children.push_back(std::move(row));
  }
  j["children"] = std::move(children);
  return j;
}

tree_supervisor supervisor_from(const nlohmann::json& j, int depth) {
  if (depth > 64) throw nlohmann::json::other_error::create(502, "the tree nests deeper than 64 supervisors", &j);
  tree_supervisor s;
  s.id = pid_from(j.at("pid"));
  s.registered_name = j.value("name", "");
  s.responsive = j.at("responsive").get<bool>();
  if (!s.responsive) return s;
  s.strategy = j.at("strategy").get<std::string>();
  s.intensity = j.at("intensity").get<std::int64_t>();
  s.period_ms = j.at("period_ms").get<std::int64_t>();
  s.restarts = j.at("restarts").get<std::uint64_t>();
  s.stopping = j.value("stopping", false);
  s.child_count = j.at("child_count").get<std::uint64_t>();
  s.truncated = j.value("truncated", false);
  for (auto& c : j.at("children")) {
    tree_child row;
    row.id = c.at("id").get<std::string>();
    row.current = pid_from(c.at("pid"));
    row.registered_name = c.value("name", "");
    row.restart = c.at("restart").get<std::string>();
    row.type = c.at("type").get<std::string>();
    row.status = c.at("status").get<std::string>();
    row.depth_truncated = c.value("depth_truncated", false);
    if (c.contains("supervisor")) row.below.push_back(supervisor_from(c.at("supervisor"), depth + 1));
    s.children.push_back(std::move(row));
  }
  return s;
}

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

nlohmann::json to_json(const supervision_tree& t) {
  nlohmann::json roots = nlohmann::json::array();
  for (auto& s : t.roots) roots.push_back(supervisor_json(s));
  return {{"roots", std::move(roots)},      {"supervisors", t.supervisors}, {"roots_total", t.roots_total},
          {"entries", t.entries},           {"truncated", t.truncated}};
}

supervision_tree supervision_tree_from_json(const nlohmann::json& j) {
  supervision_tree t;
  for (auto& s : j.at("roots")) t.roots.push_back(supervisor_from(s, 1));
  t.supervisors = j.at("supervisors").get<std::uint64_t>();
  t.roots_total = j.at("roots_total").get<std::uint64_t>();
  t.entries = j.at("entries").get<std::uint64_t>();
  t.truncated = j.at("truncated").get<bool>();
  return t;
}

bool near_restart_limit(std::uint64_t restarts, std::int64_t intensity) {
  return intensity > 0 && restarts > 0 && restarts * 5 >= static_cast<std::uint64_t>(intensity) * 4;
}

}  // namespace agner::introspect
