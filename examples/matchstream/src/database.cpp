// The store's SQLite connection (store.hpp): the sqlite3 C API, statements prepared once, one mutex.
#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <system_error>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store.hpp"
#include "agner/snapshot/visible_text.hpp"

namespace matchstream {
namespace {

// Version 1 of the schema; a file with another user_version is refused rather than misread.
constexpr int schema_version = 1;

// How long a write waits on another connection's lock before it fails (SQLITE_BUSY).
constexpr int busy_timeout_ms = 1000;

constexpr const char* schema_sql =
    "CREATE TABLE IF NOT EXISTS matches("
    "  id TEXT PRIMARY KEY NOT NULL,"
    "  status_json TEXT NOT NULL,"
    "  seq INTEGER NOT NULL,"
    "  ended INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS events("
    "  match TEXT NOT NULL,"
    "  seq INTEGER NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  fields_json TEXT NOT NULL,"
    "  at_us INTEGER NOT NULL,"
    "  PRIMARY KEY(match, seq)) WITHOUT ROWID;";

struct statement_deleter {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using statement = std::unique_ptr<sqlite3_stmt, statement_deleter>;

// Leaves a statement ready for its next use whichever way the current use ends.
class statement_use {
 public:
  explicit statement_use(sqlite3_stmt* s) noexcept : s_(s) {}
  ~statement_use() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  statement_use(const statement_use&) = delete;
  statement_use& operator=(const statement_use&) = delete;

 private:
  sqlite3_stmt* s_;
};

std::string column_text(sqlite3_stmt* s, int column) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(s, column));
  if (text == nullptr) return {};
  return std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(s, column)));
}

}  // namespace

struct database::impl {
  std::string path;
  sqlite3* db = nullptr;
  std::mutex mutex;
  statement begin, commit, rollback, drop_events, put_event, put_match, all_matches, one_match, match_events;

  ~impl() {
    // Statements first: sqlite3_close_v2 would otherwise keep the connection open as a zombie.
    for (auto* s : {&begin, &commit, &rollback, &drop_events, &put_event, &put_match, &all_matches, &one_match, &match_events})
      s->reset();
    if (db != nullptr) sqlite3_close_v2(db);
  }

  [[noreturn]] void fail(std::string_view doing) const {
    throw std::runtime_error("store " + agner::visible_text(path) + ": " + std::string(doing) + ": " +
                             (db != nullptr ? sqlite3_errmsg(db) : "out of memory"));
  }
  void check(int rc, std::string_view doing) const {
    if (rc != SQLITE_OK) fail(doing);
  }
  void exec(const char* sql, std::string_view doing) const {
    check(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), doing);
  }
  statement prepare(const char* sql) const {
    sqlite3_stmt* s = nullptr;
    check(sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr),
          std::string("cannot prepare \"") + sql + "\"");
    return statement(s);
  }
  void bind(sqlite3_stmt* s, int i, std::string_view text) const {
    // SQLITE_STATIC: every bound string outlives the statement_use that resets the statement.
    check(sqlite3_bind_text64(s, i, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8), "cannot bind");
  }
  void bind(sqlite3_stmt* s, int i, std::int64_t value) const {
    check(sqlite3_bind_int64(s, i, value), "cannot bind");
  }
  void run(sqlite3_stmt* s, std::string_view doing) const {
    statement_use use(s);
    if (sqlite3_step(s) != SQLITE_DONE) fail(doing);
  }

  void put(const std::string& match, const stored_event& e, const std::string& status_json, bool ended) {
    if (e.seq == 1) {
      // A new run of the match (it starts again at seq 1 after its end): the store holds one run only.
      statement_use use(drop_events.get());
      bind(drop_events.get(), 1, match);
      if (sqlite3_step(drop_events.get()) != SQLITE_DONE) fail("cannot drop the previous run of match " + match);
    }
    {
      statement_use use(put_event.get());
      bind(put_event.get(), 1, match);
      bind(put_event.get(), 2, e.seq);
      bind(put_event.get(), 3, e.kind);
      bind(put_event.get(), 4, e.fields_json);
      bind(put_event.get(), 5, e.at_us);
      if (sqlite3_step(put_event.get()) != SQLITE_DONE) fail("cannot save an event of match " + match);
    }
    statement_use use(put_match.get());
    bind(put_match.get(), 1, match);
    bind(put_match.get(), 2, status_json);
    bind(put_match.get(), 3, e.seq);
    bind(put_match.get(), 4, std::int64_t{ended ? 1 : 0});
    if (sqlite3_step(put_match.get()) != SQLITE_DONE) fail("cannot save match " + match);
  }

  // Runs `body` in one write transaction; any failure rolls it back and rethrows.
  template <class F>
  void transaction(F&& body) {
    run(begin.get(), "cannot begin a transaction");
    try {
      body();
      run(commit.get(), "cannot commit");
    } catch (...) {
      statement_use use(rollback.get());
      sqlite3_step(rollback.get());  // may fail if SQLite already rolled back; the first error is the one to report
      throw;
    }
  }

  stored_match read_match(sqlite3_stmt* s) const {
    stored_match m;
    m.id = column_text(s, 0);
    m.status_json = column_text(s, 1);
    m.seq = sqlite3_column_int64(s, 2);
    m.ended = sqlite3_column_int64(s, 3) != 0;
    return m;
  }
};

std::unique_ptr<database> database::open(const std::string& path) {
  auto i = std::make_unique<impl>();
  i->path = path;
  // NOMUTEX: impl::mutex already serializes every use of this connection.
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw std::runtime_error("store " + path + ": is a directory, not a database file (name a file in it, e.g. " +
                             (std::filesystem::path(path) / "matchstream.db").string() + ")");
  const int rc = sqlite3_open_v2(path.c_str(), &i->db,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) i->fail("cannot open");
  sqlite3_extended_result_codes(i->db, 1);
  // Another process holding a write lock (say, a second node on the same file) makes us wait this long
  // before SQLITE_BUSY becomes an error: short, so that a stop never waits on a lock for long and the
  // watchers hear "not stored" rather than nothing.
  sqlite3_busy_timeout(i->db, busy_timeout_ms);
  // The first read of the file: a file that is not an SQLite database fails here, by name.
  {
    statement version = i->prepare("PRAGMA user_version");
    if (sqlite3_step(version.get()) != SQLITE_ROW) i->fail("cannot read it as an SQLite database");
    const auto found = sqlite3_column_int64(version.get(), 0);
    if (found != 0 && found != schema_version)
      throw std::runtime_error("store " + path + ": schema version " + std::to_string(found) +
                               " is not " + std::to_string(schema_version) + " (written by another program?)");
  }
  // A damaged file is refused at open, by name, rather than found out one failed write at a time.
  {
    statement check = i->prepare("PRAGMA quick_check");
    std::string problems;
    int rc2;
    while ((rc2 = sqlite3_step(check.get())) == SQLITE_ROW) {
      std::string line = column_text(check.get(), 0);
      if (line == "ok") continue;
      if (!problems.empty()) problems += "; ";
      problems += line;
    }
    if (rc2 != SQLITE_DONE) i->fail("is damaged (quick_check cannot read it)");
    if (!problems.empty()) throw std::runtime_error("store " + path + ": is damaged (quick_check: " + problems.substr(0, 300) + ")");
  }
  // WAL: the HTTP API reads while the store process writes. NORMAL: a commit is not an fsync; a power
  // cut may lose the last commits but never corrupts the file.
  i->exec("PRAGMA journal_mode=WAL", "cannot select the WAL journal");
  i->exec("PRAGMA synchronous=NORMAL", "cannot set synchronous=NORMAL");
  i->exec(schema_sql, "cannot create the schema");
  i->exec(("PRAGMA user_version=" + std::to_string(schema_version)).c_str(), "cannot set the schema version");

  i->begin = i->prepare("BEGIN IMMEDIATE");
  i->commit = i->prepare("COMMIT");
  i->rollback = i->prepare("ROLLBACK");
  i->drop_events = i->prepare("DELETE FROM events WHERE match = ?1");
  // REPLACE: a match resumed after a node restart may register again a seq whose write failed.
  i->put_event = i->prepare(
      "INSERT OR REPLACE INTO events(match, seq, kind, fields_json, at_us) VALUES(?1, ?2, ?3, ?4, ?5)");
  i->put_match = i->prepare(
      "INSERT INTO matches(id, status_json, seq, ended) VALUES(?1, ?2, ?3, ?4) "
      "ON CONFLICT(id) DO UPDATE SET status_json = excluded.status_json, seq = excluded.seq, "
      "ended = excluded.ended");
  i->all_matches = i->prepare("SELECT id, status_json, seq, ended FROM matches ORDER BY id");
  i->one_match = i->prepare("SELECT id, status_json, seq, ended FROM matches WHERE id = ?1");
  i->match_events = i->prepare(
      "SELECT seq, kind, fields_json, at_us FROM "
      "(SELECT seq, kind, fields_json, at_us FROM events WHERE match = ?1 ORDER BY seq DESC LIMIT ?2) "
      "ORDER BY seq");
  return std::unique_ptr<database>(new database(std::move(i)));
}

database::database(std::unique_ptr<impl> i) : impl_(std::move(i)) {}
database::~database() = default;

void database::save(const std::string& match, const stored_event& e, const std::string& status_json, bool ended) {
  std::lock_guard lock(impl_->mutex);
  impl_->transaction([&] { impl_->put(match, e, status_json, ended); });
}

void database::save(const std::vector<write>& batch) {
  if (batch.empty()) return;
  std::lock_guard lock(impl_->mutex);
  impl_->transaction([&] {
    for (const auto& w : batch) impl_->put(w.match, w.event, w.status_json, w.ended);
  });
}

std::vector<stored_match> database::matches() {
  std::lock_guard lock(impl_->mutex);
  sqlite3_stmt* s = impl_->all_matches.get();
  statement_use use(s);
  std::vector<stored_match> out;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) out.push_back(impl_->read_match(s));
  if (rc != SQLITE_DONE) impl_->fail("cannot list matches");
  return out;
}

std::optional<stored_match> database::match(const std::string& id) {
  std::lock_guard lock(impl_->mutex);
  sqlite3_stmt* s = impl_->one_match.get();
  statement_use use(s);
  impl_->bind(s, 1, id);
  const int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) return impl_->read_match(s);
  if (rc != SQLITE_DONE) impl_->fail("cannot read match " + id);
  return std::nullopt;
}

std::vector<stored_event> database::events(const std::string& id, std::size_t limit) {
  std::lock_guard lock(impl_->mutex);
  sqlite3_stmt* s = impl_->match_events.get();
  statement_use use(s);
  impl_->bind(s, 1, id);
  impl_->bind(s, 2, static_cast<std::int64_t>(std::min<std::size_t>(limit, std::numeric_limits<std::int64_t>::max())));
  std::vector<stored_event> out;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    stored_event e;
    e.seq = sqlite3_column_int64(s, 0);
    e.kind = column_text(s, 1);
    e.fields_json = column_text(s, 2);
    e.at_us = sqlite3_column_int64(s, 3);
    out.push_back(std::move(e));
  }
  if (rc != SQLITE_DONE) impl_->fail("cannot read the events of match " + id);
  return out;
}

}  // namespace matchstream
