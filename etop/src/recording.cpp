#include "agner/etop/recording.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>

#include <fmt/format.h>

#include "agner/etop/fleet.hpp"
#include "agner/etop/text.hpp"
#include "agner/snapshot/json.hpp"

namespace agner::etop {

nlohmann::json refresh_json(const sample& s, const rates& r, const std::vector<process_row>& rows, double time_s) {
  nlohmann::json doc{{"time", time_s}, {"node", introspect::to_json(s.node)}, {"processes", nlohmann::json::array()}};
  for (auto& row : rows) doc["processes"].push_back(introspect::to_json(row));
  if (r.valid)
    doc["rates"] = {{"reductions_per_s", r.reductions}, {"messages_per_s", r.messages},
                    {"gc_per_s", r.gc}, {"dead_letters_per_s", r.dead_letters}, {"utilisation", r.utilisation}};
  doc["reductions_known"] = s.reductions_known;
  return doc;
}

void mark_not_answering(nlohmann::json& doc, const std::string& name, double silent_s, double rows_age_s, double rows_kept_s) {
  doc["name"] = name;
  doc["problem"] = fmt::format("not answering for {:.0f} s", silent_s);
  doc["not_answering_s"] = silent_s;
  doc["rows_age_s"] = rows_age_s;
  doc["rows_kept_s"] = rows_kept_s;
  for (auto& row : doc["processes"]) row["stale"] = true;
}

namespace {

/// A silent node's "not_answering_s", "rows_kept_s" and "rows_age_s" (fleet_json's node entry, or
/// a single node's marked refresh) into `m`; the age of its rows into `rows_age_s`.
void read_silence(const nlohmann::json& n, member_view& m, double& rows_age_s) {
  m.silent_s = n.at("not_answering_s").get<double>();
  if (!std::isfinite(m.silent_s) || m.silent_s <= 0)
    throw std::runtime_error(fmt::format("node {}: \"not_answering_s\" is not a positive number of seconds", m.name));
  m.link.problem.clear();
  m.rows_kept_s = n.value("rows_kept_s", m.rows_kept_s);
  rows_age_s = n.value("rows_age_s", m.silent_s);  // a recording without it: about as old as the silence
}

/// A line of several nodes: the header is summed again from each node's recorded figures.
void read_nodes(const nlohmann::json& j, recorded_refresh& out) {
  const auto& nodes = j.at("nodes");
  if (!nodes.is_array() || nodes.empty()) throw std::runtime_error("\"nodes\" is not a non-empty array");
  std::vector<sample> samples(nodes.size());
  std::vector<member_view> members;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const auto& n = nodes[i];
    member_view m;
    m.name = n.at("name").get<std::string>();
    m.link.problem = n.value("problem", std::string());
    double rows_age_s = 0;
    if (n.contains("not_answering_s")) {
      // Silent, not disconnected: its link was up, its last rows kept and marked (fleet_json).
      read_silence(n, m, rows_age_s);
    } else if (!n.value("attached", false) && m.link.problem.empty()) {
      m.link.problem = "not attached";
    }
    if (n.contains("node")) {
      samples[i].node = introspect::node_info_from_json(n.at("node"));
      samples[i].reductions_known = true;
      samples[i].at_s = out.time_s - rows_age_s;
      m.now = &samples[i];
    }
    members.push_back(std::move(m));
  }
  const fleet_header h = sum_nodes(members, out.time_s);
  out.now.node = h.sum.node;
  out.nodes_line = h.nodes_line;
  if (const auto tab = out.nodes_line.rfind("  (Tab"); tab != std::string::npos) out.nodes_line.resize(tab);
  // A silent node's kept rows ("stale": true) showed as ~NAME.
  for (auto& p : j.at("processes"))
    out.row_nodes.push_back((p.value("stale", false) ? "~" : "") + p.at("node").get<std::string>());
}

/// One line of `in` (without its '\n') into `line`; false at the end of the input. It stops
/// reading one byte past `max` (the caller refuses the line), so a file with no newline
/// (/dev/zero) can take neither all memory nor forever.
bool read_line(std::istream& in, std::string& line, std::size_t max, bool& ended) {
  line.clear();
  ended = false;
  auto* buf = in.rdbuf();
  bool any = false;
  for (int c = buf->sbumpc(); c != std::char_traits<char>::eof(); c = buf->sbumpc()) {
    any = true;
    if (c == '\n') return ended = true;
    line.push_back(static_cast<char>(c));
    if (line.size() > max) return true;  // refused whole: reading on could last forever
  }
  return any;
}

}  // namespace

recorded_refresh refresh_from_json(const nlohmann::json& j) {
  if (!j.is_object()) throw std::runtime_error("not a JSON object");
  const bool several = j.contains("nodes");
  for (const char* key : {"time", several ? "nodes" : "node", "processes"})
    if (!j.contains(key)) throw std::runtime_error(fmt::format("no \"{}\"", key));
  recorded_refresh out;
  try {
    out.time_s = j.at("time").get<double>();
    if (!std::isfinite(out.time_s) || out.time_s < 0) throw std::runtime_error("\"time\" is not seconds since the epoch");
    if (several) read_nodes(j, out);
    else out.now.node = introspect::node_info_from_json(j.at("node"));
    const auto& procs = j.at("processes");
    if (!procs.is_array()) throw std::runtime_error("\"processes\" is not an array");
    for (auto& p : procs) out.now.rows.push_back(introspect::process_row_from_json(p));
    if (!several && j.contains("not_answering_s")) {
      // One node, silent (mark_not_answering): its line and ~NAME rows, as the live view showed them.
      member_view m;
      m.name = j.value("name", out.now.node.name);
      double rows_age_s = 0;
      read_silence(j, m, rows_age_s);
      sample last;
      last.at_s = out.time_s - rows_age_s;
      m.now = &last;
      out.nodes_line = not_answering_line(m, out.time_s);
      for (auto& p : procs) out.row_nodes.push_back((p.value("stale", false) ? "~" : "") + m.name);
    }
    out.now.at_s = out.time_s;
    out.now.reductions_known = j.value("reductions_known", j.contains("rates"));
    if (j.contains("rates")) {
      const auto& r = j.at("rates");
      out.rate.reductions = r.at("reductions_per_s").get<double>();
      out.rate.messages = r.at("messages_per_s").get<double>();
      out.rate.gc = r.at("gc_per_s").get<double>();
      out.rate.dead_letters = r.at("dead_letters_per_s").get<double>();
      out.rate.utilisation = r.at("utilisation").get<std::vector<double>>();
      out.rate.valid = true;
    }
  } catch (const nlohmann::json::exception& e) {
    // nlohmann's what() starts "[json.exception.type_error.302] ": keep the sentence after it.
    std::string why = e.what();
    if (const auto at = why.find("] "); at != std::string::npos) why = why.substr(at + 2);
    throw std::runtime_error(why);
  }
  return out;
}

std::vector<recorded_refresh> read_recording(std::istream& in, const std::string& name, std::string* cut) {
  std::vector<recorded_refresh> out;
  std::string line;
  std::size_t number = 0;
  bool ended = true;
  while (read_line(in, line, max_line_bytes, ended)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto bad = [&](const std::string& why) {
      return std::runtime_error(fmt::format("{} line {}: {}", name, number, printable(why)));
    };
    if (line.size() > max_line_bytes) throw bad(fmt::format("longer than {} bytes", max_line_bytes));
    if (introspect::nested_deeper_than(line, introspect::max_json_depth)) throw bad("nested too deep");
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error&) {
      // The last line, with no newline: the recording was cut short while it was written (etop
      // flushes whole lines). What came before it is whole: it plays, and the caller says so.
      if (!ended && cut && !out.empty()) {
        *cut = fmt::format("{} line {} is cut short (etop stopped while writing it); the {} refreshes before it play", name, number, out.size());
        break;
      }
      throw bad("not JSON (a recording holds one JSON document a line, as etop --record writes them)");
    }
    try {
      out.push_back(refresh_from_json(j));
    } catch (const std::exception& e) {
      throw bad(fmt::format("not an etop refresh: {}", e.what()));
    }
    if (out.size() > 1 && out.back().time_s < out[out.size() - 2].time_s)
      throw bad("its \"time\" is earlier than the line before");
  }
  if (out.empty()) throw std::runtime_error(fmt::format("{} holds no refresh (is it an etop --record file?)", name));
  return out;
}

std::vector<process_row> filtered(const std::vector<process_row>& rows, const std::string& filter) {
  if (filter.empty()) return rows;
  std::vector<process_row> out;
  for (auto& r : rows)
    if (r.registered_name.find(filter) != std::string::npos || r.behaviour.find(filter) != std::string::npos)
      out.push_back(r);
  return out;
}

recorder::recorder(const std::string& path, bool force) : path_(path) {
  // O_NOFOLLOW: --force never truncates whatever a symbolic link at FILE points to.
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (force ? O_TRUNC : O_EXCL);
  const int fd = ::open(path.c_str(), flags, 0600);
  if (fd < 0) {
    if (errno == EEXIST)
      throw std::runtime_error(fmt::format("--record: {} exists; etop does not overwrite a recording (give --force, or another FILE)", path));
    throw std::runtime_error(fmt::format("--record: cannot create {}: {}", path, std::strerror(errno)));
  }
  // A forced, older file keeps its mode otherwise: a recording shows names and message types.
  if (::fchmod(fd, 0600) != 0) {
    const int e = errno;
    ::close(fd);
    throw std::runtime_error(fmt::format("--record: cannot make {} private (0600): {}", path, std::strerror(e)));
  }
  file_ = ::fdopen(fd, "w");
  if (!file_) {
    ::close(fd);
    throw std::runtime_error(fmt::format("--record: cannot open {}", path));
  }
}

recorder::~recorder() {
  if (file_) std::fclose(file_);
}

void recorder::write(const nlohmann::json& refresh) {
  const std::string line = refresh.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace) + "\n";
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0)
    throw std::runtime_error(fmt::format("--record: cannot write to {}: {}", path_, std::strerror(errno)));
  bytes_ += line.size();
}

bool on_replay_key(replay_state& r, int key, std::string& notice) {
  if (r.count == 0) return false;
  const std::size_t last = r.count - 1;
  auto back = [&](std::size_t n) { r.index = r.index > n ? r.index - n : 0; };
  auto forward = [&](std::size_t n) { r.index = std::min(last, r.index + n); };
  switch (key) {
    case ' ': r.paused = !r.paused; return true;
    case '.':
    case 'n': r.paused = true; forward(1); return true;
    case keys::left: back(1); return true;
    case keys::right: forward(1); return true;
    case keys::shift_left:
    case '[': back(10); return true;
    case keys::shift_right:
    case ']': forward(10); return true;
    case keys::home: r.index = 0; return true;
    case keys::end: r.index = last; return true;
    case '+':
    case '-': {
      const double next = key == '+' ? r.speed * 2 : r.speed / 2;
      if (next < 0.25 || next > 16) {
        notice = fmt::format("speed stays {}x (from 0.25x to 16x)", r.speed);
      } else {
        r.speed = next;
      }
      return true;
    }
    default: return false;
  }
}

std::string replay_line(const replay_state& r, const std::string& file, double time_s) {
  const auto secs = static_cast<std::time_t>(time_s);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
  return fmt::format("REPLAY {}  refresh {}/{}  {} UTC  {}x{}  (Left/Right step, [ ] ten, Home/End, . next, +/- speed)",
                     file, r.index + 1, r.count, when, r.speed, r.paused ? "  PAUSED" : "");
}

}  // namespace agner::etop
