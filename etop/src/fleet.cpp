#include "agner/etop/fleet.hpp"

#include <algorithm>
#include <numeric>

#include <fmt/format.h>

#include "agner/etop/format.hpp"
#include "agner/snapshot/json.hpp"

namespace agner::etop {
namespace {

bool attached(const member_view& m) { return m.now && m.link.problem.empty(); }
bool silent(const member_view& m) { return m.silent_s > 0; }
/// In the sums and rates: attached and answering.
bool answering(const member_view& m) { return attached(m) && !silent(m); }
/// In the table: attached, and answering or silent for less than its rows are kept.
bool rows_shown(const member_view& m) { return attached(m) && m.silent_s < m.rows_kept_s; }

}  // namespace

namespace {

/// A node as written, split at '/' ("." and empty parts dropped), ".sock" off the last part.
std::vector<std::string> path_parts(const std::string& written) {
  std::vector<std::string> parts;
  for (std::size_t from = 0; from <= written.size();) {
    const auto to = std::min(written.find('/', from), written.size());
    std::string part = written.substr(from, to - from);
    if (!part.empty() && part != ".") parts.push_back(std::move(part));
    from = to + 1;
  }
  if (parts.empty()) parts.push_back(written);
  if (auto& last = parts.back(); last.ends_with(".sock") && last.size() > 5) last.resize(last.size() - 5);
  return parts;
}

/// The last `k` parts, joined by '/'.
std::string suffix(const std::vector<std::string>& parts, std::size_t k) {
  std::string out;
  for (std::size_t i = parts.size() - std::min(k, parts.size()); i < parts.size(); ++i) out += (out.empty() ? "" : "/") + parts[i];
  return out;
}

}  // namespace

std::vector<std::string> node_labels(const std::vector<std::string>& written) {
  std::vector<std::vector<std::string>> parts;
  for (auto& w : written) parts.push_back(path_parts(w));
  std::vector<std::string> labels;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const auto& mine = parts[i];
    std::size_t k = 1;
    // Grow the suffix while another node's path ends with the same k parts.
    for (; k < mine.size(); ++k) {
      bool shared = false;
      for (std::size_t j = 0; j < parts.size() && !shared; ++j)
        shared = j != i && parts[j].size() >= k && suffix(parts[j], k) == suffix(mine, k);
      if (!shared) break;
    }
    labels.push_back(suffix(mine, k));
  }
  // Paths no suffix tells apart (the same name written twice): number the later ones.
  for (std::size_t i = 1; i < labels.size(); ++i) {
    int same = 1;
    for (std::size_t j = 0; j < i; ++j) same += labels[j] == labels[i] || labels[j].starts_with(labels[i] + "#");
    if (same > 1) labels[i] += fmt::format("#{}", same);
  }
  return labels;
}

double answer_wait_s(double interval_s) { return std::max(1.0, interval_s); }

double stale_rows_s(double interval_s) { return std::max(10.0, 5 * interval_s); }

std::string not_answering_line(const member_view& m, double now_s) {
  std::string rows = "no rows yet";
  if (m.now && rows_shown(m))
    rows = fmt::format("its ~rows are {:.0f}s old, shown until {:.0f}s", std::max(0.0, now_s - m.now->at_s), m.rows_kept_s);
  else if (m.now)
    rows = fmt::format("its rows left the table at {:.0f}s", m.rows_kept_s);
  return fmt::format("{} NOT ANSWERING for {:.0f}s ({})", m.name, m.silent_s, rows);
}

merged_rows merge_rows(const std::vector<member_view>& members, const view_state& v) {
  struct tagged {
    const process_row* row;
    std::size_t node;
  };
  std::vector<tagged> all;
  for (std::size_t i = 0; i < members.size(); ++i)
    if (rows_shown(members[i]))
      for (auto& r : members[i].now->rows) all.push_back({&r, i});
  std::stable_sort(all.begin(), all.end(), [&](const tagged& a, const tagged& b) {
    if (row_before(*a.row, *b.row, v)) return true;
    if (row_before(*b.row, *a.row, v)) return false;
    return a.node < b.node;
  });
  merged_rows out;
  out.rows.reserve(all.size());
  for (auto& t : all) {
    out.rows.push_back(*t.row);
    out.node.push_back(t.node);
    out.node_names.push_back(silent(members[t.node]) ? "~" + members[t.node].name : members[t.node].name);
  }
  return out;
}

fleet_header sum_nodes(const std::vector<member_view>& members, double now_s) {
  fleet_header h;
  auto& n = h.sum.node;
  std::size_t up = 0;
  bool rates_known = true, reductions_known = true;
  std::vector<std::string> parts;
  for (auto& m : members) {
    if (silent(m)) {
      parts.push_back(not_answering_line(m, now_s));
      continue;
    }
    if (!attached(m)) {
      parts.push_back(m.now ? fmt::format("{} DISCONNECTED ({}; {})", m.name, m.link.problem, retry_text(m.link))
                            : fmt::format("{} {}", m.name, m.link.problem.empty() ? "connecting" : "DISCONNECTED (" + m.link.problem + ")"));
      continue;
    }
    ++up;
    const auto& x = m.now->node;
    parts.push_back(fmt::format("{} up {} {} sched", m.name, uptime(x.uptime_ns / 1'000'000'000), x.schedulers.size()));
    n.uptime_ns = std::max(n.uptime_ns, x.uptime_ns);
    n.process_count += x.process_count;
    n.process_limit += x.process_limit;
    n.run_queue_total += x.run_queue_total;
    n.schedulers.insert(n.schedulers.end(), x.schedulers.begin(), x.schedulers.end());
    n.messages.sent += x.messages.sent;
    n.messages.delivered += x.messages.delivered;
    n.messages.dropped += x.messages.dropped;
    n.messages.dead_letters += x.messages.dead_letters;
    n.messages.shed += x.messages.shed;
    n.gc.minor_runs += x.gc.minor_runs;
    n.gc.major_runs += x.gc.major_runs;
    n.gc.bytes_reclaimed += x.gc.bytes_reclaimed;
    n.gc.heap_bytes += x.gc.heap_bytes;
    n.memory.processes_bytes += x.memory.processes_bytes;
    n.memory.heaps_bytes += x.memory.heaps_bytes;
    n.memory.binary_bytes += x.memory.binary_bytes;
    n.memory.resident_bytes += x.memory.resident_bytes;
    n.ports.open += x.ports.open;
    for (auto a : x.alarms) {
      a.id = m.name + "/" + a.id;
      n.alarms.push_back(std::move(a));
    }
    for (auto valve : x.valves) {
      valve.id = m.name + "/" + valve.id;
      n.valves.push_back(std::move(valve));
    }
    h.sum.warnings.insert(h.sum.warnings.end(), m.now->warnings.begin(), m.now->warnings.end());
    h.warning_nodes.insert(h.warning_nodes.end(), m.now->warnings.size(), m.name);
    reductions_known = reductions_known && m.now->reductions_known;
    if (!m.before) {
      rates_known = false;
      continue;
    }
    const rates r = rates_between(*m.before, *m.now);
    rates_known = rates_known && r.valid;
    h.rate.reductions += r.reductions;
    h.rate.messages += r.messages;
    h.rate.gc += r.gc;
    h.rate.dead_letters += r.dead_letters;
    h.rate.utilisation.insert(h.rate.utilisation.end(), r.utilisation.begin(), r.utilisation.end());
  }
  n.name = fmt::format("{} of {} nodes", up, members.size());
  h.rate.valid = up > 0 && rates_known;
  h.sum.reductions_known = up > 0 && reductions_known;
  h.sum.at_s = now_s;
  h.nodes_line = "nodes: " + fmt::format("{}", fmt::join(parts, "  |  ")) + "  (Tab: one node's view)";
  return h;
}

nlohmann::json fleet_json(const std::vector<member_view>& members, const merged_rows& merged, std::size_t count,
                          const fleet_header& h) {
  nlohmann::json doc{{"nodes", nlohmann::json::array()}, {"processes", nlohmann::json::array()}};
  for (auto& m : members) {
    nlohmann::json n{{"name", m.name}, {"attached", answering(m)}, {"problem", m.link.problem}};
    if (silent(m)) {
      n["problem"] = fmt::format("not answering for {:.0f} s", m.silent_s);
      n["not_answering_s"] = m.silent_s;
      // What replay needs to say what the live view said of its rows (how old, kept how long).
      if (m.now) {
        n["rows_kept_s"] = m.rows_kept_s;
        n["rows_age_s"] = std::max(0.0, h.sum.at_s - m.now->at_s);
      }
    }
    if (m.now) n["node"] = introspect::to_json(m.now->node);
    doc["nodes"].push_back(std::move(n));
  }
  for (std::size_t r = 0; r < merged.rows.size() && r < count; ++r) {
    auto row = introspect::to_json(merged.rows[r]);
    row["node"] = members[merged.node[r]].name;
    if (silent(members[merged.node[r]])) row["stale"] = true;
    doc["processes"].push_back(std::move(row));
  }
  doc["warnings"] = nlohmann::json::array();
  for (std::size_t i = 0; i < h.sum.warnings.size(); ++i) {
    auto w = introspect::to_json(h.sum.warnings[i]);
    w["node"] = i < h.warning_nodes.size() ? h.warning_nodes[i] : std::string();
    doc["warnings"].push_back(std::move(w));
  }
  if (h.rate.valid)
    doc["rates"] = {{"reductions_per_s", h.rate.reductions}, {"messages_per_s", h.rate.messages},
                    {"gc_per_s", h.rate.gc}, {"dead_letters_per_s", h.rate.dead_letters}, {"utilisation", h.rate.utilisation}};
  return doc;
}

std::size_t next_focus(std::size_t focus, std::size_t count) {
  return focus >= count ? 0 : focus + 1;
}

}  // namespace agner::etop
