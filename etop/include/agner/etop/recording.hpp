#pragma once
/// etop --record and --replay (docs/etop.md "Recording and replay"): a recording is one JSON
/// document per refresh, one a line, the document batch mode's --json prints plus the refresh's wall
/// time, so a recording is read by the same scripts as batch output. Pure except recorder, which
/// owns a file.
#include <cstdio>
#include <istream>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agner/etop/view.hpp"

namespace agner::etop {

/// One refresh as recorded: what the screen showed.
struct recorded_refresh {
  double time_s = 0;  ///< wall clock, seconds since the Unix epoch (the line's "time")
  sample now;         ///< node figures and the rows that were shown; now.at_s = time_s
  rates rate;         ///< as shown; valid = false when the line has no "rates"
  /// A recording of several nodes (a line with "nodes", fleet_json's): now.node sums them (as the
  /// merged header did), row_nodes[i] is now.rows[i]'s node and nodes_line the per-node line.
  /// Empty for one node.
  std::vector<std::string> row_nodes;
  std::string nodes_line;
};

/// The JSON line for a refresh: {"time": S, "node": {...}, "processes": [...], "rates": {...},
/// "reductions_known": B}. `rows` are the rows shown (arranged), `r` is left out when not valid.
/// Cost: O(rows). Thread-safe (pure).
nlohmann::json refresh_json(const sample& s, const rates& r, const std::vector<process_row>& rows, double time_s);

/// Marks `doc` (refresh_json's, or single-node batch --json's) as taken while the node was not
/// answering for `silent_s`: "name" (`name`, as its line and ~NAME rows call it), "problem": "not
/// answering for N s", "not_answering_s", "rows_age_s" (how old its rows are), "rows_kept_s", and
/// "stale": true on every row. Pure; O(rows).
void mark_not_answering(nlohmann::json& doc, const std::string& name, double silent_s, double rows_age_s,
                        double rows_kept_s);

/// The reverse of refresh_json (or of fleet_json with "time"). Throws std::runtime_error with the reason (a missing "node", a
/// field of the wrong type) on a document it cannot read. Thread-safe (pure).
recorded_refresh refresh_from_json(const nlohmann::json& j);

/// Every refresh of a recording, in order. A malformed line stops the reading: throws
/// std::runtime_error "FILE line N: why" (`name` is FILE), so a damaged recording is never shown in
/// part as if whole. Blank lines are skipped. An empty recording is an error too ("holds no
/// refresh"). Lines longer than `max_line_bytes` are refused (a recording's line is tens of KB).
/// Cost: O(file), all of it kept in memory (a recording of a 1M-process node holds only the rows
/// shown: about 460 KB a minute at 2 s refreshes on a 50-line screen, docs/etop.md). Not thread-safe on `in`.
inline constexpr std::size_t max_line_bytes = 16 << 20;
/// With `cut`, a last line that is not JSON and ends without a newline (a recording cut short
/// while a line was written) is left out, and `cut` says so; without it, that line is refused too.
std::vector<recorded_refresh> read_recording(std::istream& in, const std::string& name, std::string* cut = nullptr);

/// The rows that pass `filter` (a substring of the registered name or
/// the behaviour's type name, as the node's filter): replay filters what was recorded. Pure; O(rows).
std::vector<process_row> filtered(const std::vector<process_row>& rows, const std::string& filter);

/// Appends refreshes to a new file. Not thread-safe: etop's one thread owns it.
class recorder {
 public:
  /// Creates `path` 0600. An existing file is refused (throws std::runtime_error naming it and
  /// --force) unless `force`, which truncates it and sets it 0600. Throws with the OS's reason when
  /// the file cannot be created.
  recorder(const std::string& path, bool force);
  ~recorder();
  recorder(const recorder&) = delete;
  recorder& operator=(const recorder&) = delete;
  /// Writes one line and flushes it, so a recording cut short (etop killed) keeps every refresh
  /// but perhaps the last. Throws std::runtime_error when the write fails (a full disk).
  void write(const nlohmann::json& refresh);
  std::size_t bytes_written() const { return bytes_; }

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
  std::size_t bytes_ = 0;
};

/// What the replay is doing: which refresh shows, paused or playing, how fast.
struct replay_state {
  std::size_t index = 0;  ///< the refresh shown
  std::size_t count = 0;  ///< refreshes in the recording
  bool paused = false;
  double speed = 1;       ///< 0.25 to 16, doubled by + and halved by -
};

/// The replay's own keys, tried before the table's: space pauses, . or n steps one refresh (and
/// pauses), Left/Right go one refresh back/forward, Shift-Left/Shift-Right or [ ] ten, Home/End the
/// first/last refresh, + and - double and halve the speed. True when `key` was one of them (and
/// `notice` may say what changed). Pure.
bool on_replay_key(replay_state& r, int key, std::string& notice);

/// The status line under the replay's title: "REPLAY FILE  refresh 12/300  2026-11-30 07:10:02 UTC
/// 1x  PAUSED" and the keys. Pure.
std::string replay_line(const replay_state& r, const std::string& file, double time_s);

}  // namespace agner::etop
