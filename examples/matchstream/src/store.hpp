#pragma once
/// The store: matches and their events in SQLite, so that a restarted node still lists its matches
/// and a client joining late gets the current status. The match process owns a match's meaning; the
/// store keeps its status as opaque JSON text (match_status's codec, match.hpp) and its events.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agner/exporter/metrics.hpp"
#include "agner/runtime/behaviour.hpp"
#include "agner/runtime/runtime.hpp"
#include "agner/runtime/supervisor.hpp"

namespace matchstream {

struct stored_event {
  std::int64_t seq = 0;
  std::string kind;         ///< "start", "goal", … "end"
  std::string fields_json;  ///< the event as the watcher sent it (a JSON object), for GET /matches/<id>
  std::int64_t at_us = 0;   ///< when it was registered (Unix µs)
};

struct stored_match {
  std::string id;
  std::string status_json;  ///< the match's status after its latest event (opaque here)
  std::int64_t seq = 0;     ///< its latest event's seq
  bool ended = false;
};

/// One SQLite connection. open() creates the schema if missing (WAL journal). Thread contract: any
/// thread; calls serialize on one mutex (the store process writes from the blocking pool, the HTTP
/// API reads from its own thread). Errors: std::runtime_error naming the file and SQLite's message.
/// Path ":memory:" keeps everything in memory (tests).
class database {
 public:
  static std::unique_ptr<database> open(const std::string& path);
  ~database();
  database(const database&) = delete;
  database& operator=(const database&) = delete;

  /// Records `e` for `match` and its status after it, in one transaction. Cost: one fsync-free
  /// (synchronous=NORMAL) commit.
  void save(const std::string& match, const stored_event& e, const std::string& status_json, bool ended);
  /// Several at once, in one transaction (the store process batches what queued meanwhile).
  struct write {
    std::string match;
    stored_event event;
    std::string status_json;
    bool ended = false;
  };
  void save(const std::vector<write>& batch);
  /// Every match, ordered by id.
  std::vector<stored_match> matches();
  std::optional<stored_match> match(const std::string& id);
  /// `id`'s events, oldest first, at most `limit` of the newest.
  std::vector<stored_event> events(const std::string& id, std::size_t limit = 1000);

 private:
  struct impl;
  explicit database(std::unique_ptr<impl> i);
  std::unique_ptr<impl> impl_;
};

/// What a match asks the store process (registered as "store") after each event, as a request
/// (context::request<store_write>). The answer comes once the batch holding the write has committed:
/// event_result{seq}, or event_result{0, "not stored: <why>"} if it failed; the match passes it on
/// to its watcher ("OK <seq>"). So a watcher's OK always means the event is on disk
/// (synchronous=NORMAL: it survives a crash of the program), and since the request monitors the
/// store, a store that stops with the write queued is a prompt "not stored", never a silent wait.
struct store_write {
  database::write w;
};

/// Spawns the store process (name "store"): it batches store_write messages and writes each batch
/// (one transaction) through context::run_blocking, never on a scheduler; one batch in flight at a
/// time, the next one is what queued meanwhile. Each failed write counts once in `errors` (may be
/// null: not counted), besides the answer to its match. `db` and `errors` must outlive the
/// runtime's processes.
agner::pid spawn_store(agner::runtime& rt, database& db, agner::exporter::counter* errors = nullptr);
/// The same process as a supervisor's child (id and name "store"), for matchstream_sup.
agner::child_spec store_child(database& db, agner::exporter::counter* errors = nullptr);

}  // namespace matchstream
