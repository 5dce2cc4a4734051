// The store's SQLite database (examples/matchstream/src/store.hpp).
#include <doctest/doctest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "store.hpp"

using matchstream::database;
using matchstream::stored_event;

namespace {

struct temp_dir {
  std::string path;
  temp_dir() {
    char tmpl[] = "/tmp/agner-ms-database-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~temp_dir() { std::filesystem::remove_all(path); }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
};

stored_event event(std::int64_t seq, std::string kind, std::string fields, std::int64_t at_us = 0) {
  return stored_event{seq, std::move(kind), std::move(fields), at_us ? at_us : 1'315'921'731'000'000 + seq};
}

std::string error_of(const std::string& path) {
  try {
    database::open(path);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("a saved event and status read back as they were written") {
  auto db = database::open(":memory:");
  CHECK(db->matches().empty());
  CHECK_FALSE(db->match("elp-tig").has_value());
  CHECK(db->events("elp-tig").empty());

  db->save("elp-tig", event(1, "start", R"({"kind":"start","home":"elp"})", 42), R"({"home":"elp"})", false);
  db->save("elp-tig", event(2, "goal", R"({"kind":"goal","team":"elp"})"), R"({"home_score":1})", false);

  auto m = db->match("elp-tig");
  REQUIRE(m.has_value());
  CHECK(m->id == "elp-tig");
  CHECK(m->status_json == R"({"home_score":1})");
  CHECK(m->seq == 2);
  CHECK_FALSE(m->ended);

  auto events = db->events("elp-tig");
  REQUIRE(events.size() == 2);
  CHECK(events[0].seq == 1);
  CHECK(events[0].kind == "start");
  CHECK(events[0].fields_json == R"({"kind":"start","home":"elp"})");
  CHECK(events[0].at_us == 42);
  CHECK(events[1].seq == 2);
  CHECK(events[1].kind == "goal");
}

TEST_CASE("matches are listed by id and events keep only the newest up to the limit, oldest first") {
  auto db = database::open(":memory:");
  db->save("b-match", event(1, "start", "{}"), "{}", false);
  db->save("a-match", event(1, "start", "{}"), "{}", false);
  for (int seq = 2; seq <= 10; ++seq) db->save("a-match", event(seq, "shot", "{}"), "{}", seq == 10);
  auto all = db->matches();
  REQUIRE(all.size() == 2);
  CHECK(all[0].id == "a-match");
  CHECK(all[0].seq == 10);
  CHECK(all[0].ended);
  CHECK(all[1].id == "b-match");
  CHECK_FALSE(all[1].ended);

  auto last3 = db->events("a-match", 3);
  REQUIRE(last3.size() == 3);
  CHECK(last3[0].seq == 8);
  CHECK(last3[1].seq == 9);
  CHECK(last3[2].seq == 10);
  CHECK(db->events("a-match", 0).empty());
  CHECK(db->events("b-match").size() == 1);
}

TEST_CASE("a batch is saved in one transaction and leaves each match at its latest event") {
  auto db = database::open(":memory:");
  std::vector<database::write> batch;
  for (int seq = 1; seq <= 500; ++seq) {
    batch.push_back({"m1", event(seq, "shot", "{}"), "{\"seq\":" + std::to_string(seq) + "}", false});
    batch.push_back({"m2", event(seq, "shot", "{}"), "{}", seq == 500});
  }
  db->save(batch);
  db->save(std::vector<database::write>{});  // an empty batch is nothing to do
  CHECK(db->events("m1").size() == 500);
  CHECK(db->events("m2").size() == 500);
  CHECK(db->match("m1")->status_json == "{\"seq\":500}");
  CHECK(db->match("m1")->seq == 500);
  CHECK(db->match("m2")->ended);
}

TEST_CASE("an event saved again under the same seq replaces the old one") {
  auto db = database::open(":memory:");
  db->save("m", event(1, "start", "{\"old\":1}"), "{}", true);
  db->save("m", event(1, "start", "{\"new\":1}"), "{}", false);
  auto events = db->events("m");
  REQUIRE(events.size() == 1);
  CHECK(events[0].fields_json == "{\"new\":1}");
  CHECK_FALSE(db->match("m")->ended);
}

TEST_CASE("a database file reopened after a restart keeps its matches and events") {
  temp_dir dir;
  const std::string path = dir.path + "/matchstream.db";
  {
    auto db = database::open(path);
    db->save("elp-tig-2011-09-10", event(1, "start", "{\"kind\":\"start\"}"), "{\"home\":\"elp\"}", false);
    db->save({{"elp-tig-2011-09-10", event(2, "goal", "{}"), "{\"home_score\":1}", false},
              {"gdc-boc-2011-09-10", event(1, "start", "{}"), "{}", false},
              {"gdc-boc-2011-09-10", event(2, "end", "{}"), "{}", true}});
  }
  auto db = database::open(path);
  auto all = db->matches();
  REQUIRE(all.size() == 2);
  CHECK(all[0].id == "elp-tig-2011-09-10");
  CHECK(all[0].seq == 2);
  CHECK(all[0].status_json == "{\"home_score\":1}");
  CHECK(all[1].id == "gdc-boc-2011-09-10");
  CHECK(all[1].ended);
  CHECK(db->events("elp-tig-2011-09-10").size() == 2);
  // and it is still writable
  db->save("elp-tig-2011-09-10", event(3, "end", "{}"), "{}", true);
  CHECK(db->match("elp-tig-2011-09-10")->ended);
}

TEST_CASE("a file that is not an SQLite database is refused with its name and the reason") {
  temp_dir dir;
  const std::string path = dir.path + "/garbage.db";
  std::ofstream(path) << std::string(8192, 'x');
  const auto error = error_of(path);
  CHECK(error.find(path) != std::string::npos);
  CHECK(error.find("file is not a database") != std::string::npos);
}

TEST_CASE("an SQLite database with a damaged page is refused or reports an error naming the file") {
  temp_dir dir;
  const std::string path = dir.path + "/damaged.db";
  {
    auto db = database::open(path);
    for (int seq = 1; seq <= 200; ++seq) db->save("m", event(seq, "shot", std::string(200, 'a')), "{}", false);
  }
  // Overwrite everything after the 100-byte header: the schema page and the data are gone.
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    const std::string noise(16384, '\xa5');
    f.write(noise.data(), static_cast<std::streamsize>(noise.size()));
  }
  std::filesystem::remove(path + "-wal");
  std::filesystem::remove(path + "-shm");
  // Refused at open (quick_check), not at the first read: the docs say a damaged file stops the program.
  const std::string error = error_of(path);
  CHECK(error.find(path) != std::string::npos);
  CHECK(error.find("malformed") != std::string::npos);
}

TEST_CASE("a database whose schema is intact but whose data pages are damaged is refused at open") {
  temp_dir dir;
  const std::string path = dir.path + "/damaged-data.db";
  {
    auto db = database::open(path);
    for (int seq = 1; seq <= 400; ++seq) db->save("m", event(seq, "shot", std::string(300, 'a')), "{}", false);
  }  // the last connection closed: the WAL is checkpointed into the file
  REQUIRE(std::filesystem::file_size(path) > 16 * 4096);
  {
    // Pages 9 and 10 hold events (pages 1 to 3 are the header, the schema and the first tables).
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(8 * 4096);
    const std::string noise(2 * 4096, '\x5a');
    f.write(noise.data(), static_cast<std::streamsize>(noise.size()));
  }
  std::filesystem::remove(path + "-wal");
  std::filesystem::remove(path + "-shm");
  const std::string error = error_of(path);
  CHECK(error.find(path) != std::string::npos);
  CHECK(error.find("damaged") != std::string::npos);
}

TEST_CASE("a directory given as the database is refused, saying it is a directory") {
  temp_dir dir;
  const auto error = error_of(dir.path);
  CHECK(error.find(dir.path) != std::string::npos);
  CHECK(error.find("is a directory") != std::string::npos);
}

TEST_CASE("a new run of a match starting at seq 1 replaces the previous run's events") {
  auto db = database::open(":memory:");
  db->save({{"m", event(1, "start", "{\"run\":1}"), "{}", false},
            {"m", event(2, "goal", "{}"), "{}", false},
            {"m", event(3, "goal", "{}"), "{}", false},
            {"m", event(4, "end", "{}"), "{}", true},
            {"other", event(1, "start", "{}"), "{}", false}});
  db->save({{"m", event(1, "start", "{\"run\":2}"), "{}", false}, {"m", event(2, "goal", "{\"run\":2}"), "{}", false}});
  auto events = db->events("m");
  REQUIRE(events.size() == 2);
  CHECK(events[0].fields_json == "{\"run\":2}");
  CHECK(events[1].fields_json == "{\"run\":2}");
  CHECK(db->match("m")->seq == 2);
  CHECK_FALSE(db->match("m")->ended);
  CHECK(db->events("other").size() == 1);  // another match keeps its events
}

TEST_CASE("a file in a directory that does not exist is refused with its name") {
  const std::string path = "/nonexistent-agner-dir/sub/matchstream.db";
  const auto error = error_of(path);
  CHECK(error.find(path) != std::string::npos);
  CHECK(error.find("unable to open") != std::string::npos);
}

TEST_CASE("a database of another schema version is refused") {
  temp_dir dir;
  const std::string path = dir.path + "/other.db";
  database::open(path);  // creates version 1
  {
    // Another program's version: user_version is the big-endian 4-byte field at offset 60 of the header.
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(60);
    const char version[4] = {0, 0, 0, 7};
    f.write(version, 4);
  }
  const auto error = error_of(path);
  CHECK(error.find(path) != std::string::npos);
  CHECK(error.find("schema version 7") != std::string::npos);
}

TEST_CASE("hostile strings round-trip unchanged through the store") {
  auto db = database::open(":memory:");
  using namespace std::string_literals;  // literals holding NUL bytes
  const std::string hostile_id = "x'); DROP TABLE matches; --\0\"\\\n\r\t\xff\xfe"s + "é☃😀";
  const std::string hostile_json = "{\"k\":\"\0\"}\x01\x7f'\""s + "\xc3\x28";
  db->save(hostile_id, event(1, "go\0al'"s, hostile_json), hostile_json, false);
  db->save("plain", event(1, "start", "{}"), "{}", false);
  auto all = db->matches();
  REQUIRE(all.size() == 2);
  auto m = db->match(hostile_id);
  REQUIRE(m.has_value());
  CHECK(m->id == hostile_id);
  CHECK(m->status_json == hostile_json);
  auto events = db->events(hostile_id);
  REQUIRE(events.size() == 1);
  CHECK(events[0].kind == "go\0al'"s);
  CHECK(events[0].fields_json == hostile_json);
  CHECK_FALSE(db->match(std::string("x'); DROP TABLE matches; --")).has_value());
}
