// etop --record and --replay: a refresh survives the round trip, a damaged recording is refused
// with its line number, the replay's keys move through it, the recorder keeps what exists.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "agner/etop/fleet.hpp"
#include "agner/etop/recording.hpp"
#include "agner/snapshot/json.hpp"

using namespace agner;
using namespace agner::etop;

namespace {

sample one_sample() {
  sample s;
  s.node.name = "rec";
  s.node.process_count = 2;
  s.node.schedulers.resize(2);
  process_row a;
  a.id = pid{3, 1};
  a.registered_name = "matcher";
  a.message_queue_len = 42;
  process_row b;
  b.id = pid{4, 1};
  b.behaviour = "demo::worker";
  s.rows = {a, b};
  s.reductions_known = true;
  return s;
}

std::string line_of(double time_s, bool with_rates = true) {
  rates r;
  r.valid = with_rates;
  r.messages = 12.5;
  r.utilisation = {0.25, 0.5};
  const sample s = one_sample();
  return refresh_json(s, r, s.rows, time_s).dump();
}

std::string read_error(const std::string& text) {
  std::istringstream in(text);
  try {
    read_recording(in, "f.jsonl");
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("a recorded refresh reads back with its node, rows, rates and time") {
  std::istringstream in(line_of(1000.5) + "\n\n" + line_of(1002, false) + "\n");
  const auto all = read_recording(in, "f.jsonl");
  REQUIRE(all.size() == 2);
  CHECK(all[0].time_s == 1000.5);
  CHECK(all[0].now.at_s == 1000.5);
  CHECK(all[0].now.node.name == "rec");
  REQUIRE(all[0].now.rows.size() == 2);
  CHECK(all[0].now.rows[0].registered_name == "matcher");
  CHECK(all[0].now.rows[0].message_queue_len == 42);
  CHECK(all[0].rate.valid);
  CHECK(all[0].rate.messages == 12.5);
  CHECK(all[0].rate.utilisation == std::vector<double>{0.25, 0.5});
  CHECK_FALSE(all[1].rate.valid);
}

TEST_CASE("a malformed recording line is refused with its line number") {
  CHECK(read_error(line_of(1) + "\n" + line_of(2) + "\n{\"node\": \n") ==
        "f.jsonl line 3: not JSON (a recording holds one JSON document a line, as etop --record writes them)");
  CHECK(read_error(line_of(1) + "\n{\"time\": 2, \"processes\": []}\n") == "f.jsonl line 2: not an etop refresh: no \"node\"");
  CHECK(read_error("[1, 2]\n") == "f.jsonl line 1: not an etop refresh: not a JSON object");
  CHECK(read_error(line_of(5) + "\n" + line_of(4) + "\n") == "f.jsonl line 2: its \"time\" is earlier than the line before");
  CHECK(read_error("\n\n") == "f.jsonl holds no refresh (is it an etop --record file?)");
  CHECK(read_error(std::string(100, '[') + "\n").starts_with("f.jsonl line 1: nested too deep"));
}

namespace {
/// Zero bytes with no newline, as /dev/zero gives (bounded here so that a reader taking it all
/// ends), counting what was read.
struct zeros final : std::streambuf {
  std::size_t left, read = 0;
  char chunk[4096] = {};
  explicit zeros(std::size_t n) : left(n) {}
  int_type underflow() override {
    if (left == 0) return traits_type::eof();
    const std::size_t n = std::min(left, sizeof chunk);
    left -= n;
    read += n;
    setg(chunk, chunk, chunk + n);
    return traits_type::to_int_type(chunk[0]);
  }
};
}  // namespace

TEST_CASE("a recording with no newline is refused after its first too-long line, not read to its end") {
  zeros z(4 * max_line_bytes);
  std::istream in(&z);
  std::string error;
  try {
    read_recording(in, "/dev/zero");
  } catch (const std::runtime_error& e) {
    error = e.what();
  }
  CHECK(error == fmt::format("/dev/zero line 1: longer than {} bytes", max_line_bytes));
  CHECK(z.read <= max_line_bytes + 4096);
}

TEST_CASE("a recording cut short in its last line plays the refreshes before it and says so") {
  const std::string text = line_of(1) + "\n" + line_of(2) + "\n" + line_of(3).substr(0, 40);
  std::istringstream in(text);
  std::string cut;
  const auto all = read_recording(in, "f.jsonl", &cut);
  CHECK(all.size() == 2);
  CHECK(cut == "f.jsonl line 3 is cut short (etop stopped while writing it); the 2 refreshes before it play");
  // A damaged line that ends with its newline is no cut: refused, as is a cut with no caller asking.
  std::istringstream whole(text + "\n");
  CHECK_THROWS_WITH(read_recording(whole, "f.jsonl", &cut), doctest::Contains("f.jsonl line 3: not JSON"));
  std::istringstream again(text);
  CHECK_THROWS_WITH(read_recording(again, "f.jsonl"), doctest::Contains("f.jsonl line 3: not JSON"));
}

TEST_CASE("replay keys step, seek and change speed within the recording") {
  replay_state r;
  r.count = 30;
  std::string notice;
  CHECK(on_replay_key(r, keys::right, notice));
  CHECK(r.index == 1);
  CHECK(on_replay_key(r, ']', notice));
  CHECK(r.index == 11);
  CHECK(on_replay_key(r, keys::shift_right, notice));
  CHECK(on_replay_key(r, keys::shift_right, notice));
  CHECK(r.index == 29);  // stops at the last refresh
  CHECK(on_replay_key(r, keys::home, notice));
  CHECK(r.index == 0);
  CHECK(on_replay_key(r, keys::left, notice));
  CHECK(r.index == 0);
  CHECK(on_replay_key(r, '.', notice));
  CHECK(r.index == 1);
  CHECK(r.paused);
  CHECK(on_replay_key(r, ' ', notice));
  CHECK_FALSE(r.paused);
  CHECK(on_replay_key(r, keys::end, notice));
  CHECK(r.index == 29);
  for (int i = 0; i < 4; ++i) on_replay_key(r, '+', notice);
  CHECK(r.speed == 16);
  CHECK(notice.empty());
  on_replay_key(r, '+', notice);
  CHECK(r.speed == 16);
  CHECK(notice == "speed stays 16x (from 0.25x to 16x)");
  CHECK_FALSE(on_replay_key(r, 'q', notice));
}

TEST_CASE("the recorder refuses an existing file unless forced, and creates it 0600") {
  char tmpl[] = "/tmp/agner-rec-XXXXXX";
  REQUIRE(mkdtemp(tmpl));
  const std::string path = std::string(tmpl) + "/r.jsonl";
  {
    recorder rec(path, false);
    rec.write(nlohmann::json::parse(line_of(1)));
    CHECK(rec.bytes_written() == line_of(1).size() + 1);
  }
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK_THROWS_WITH(recorder(path, false),
                    doctest::Contains("exists; etop does not overwrite a recording (give --force, or another FILE)"));
  chmod(path.c_str(), 0644);
  { recorder rec(path, true); }
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(st.st_size == 0);
  std::remove(path.c_str());
  rmdir(tmpl);
}

TEST_CASE("a recorded refresh of several nodes reads back with its sums, its nodes line and each row's node") {
  // As fleet_json writes it: node a attached with its figures, node b gone; both rows a's.
  const sample a = one_sample();
  nlohmann::json j{{"time", 10}, {"nodes", nlohmann::json::array()}, {"processes", nlohmann::json::array()}};
  j["nodes"].push_back({{"name", "a"}, {"attached", true}, {"problem", ""}, {"node", introspect::to_json(a.node)}});
  j["nodes"].push_back({{"name", "b"}, {"attached", false}, {"problem", "gone"}});
  for (auto& row : a.rows) {
    auto p = introspect::to_json(row);
    p["node"] = "a";
    j["processes"].push_back(p);
  }
  const recorded_refresh r = refresh_from_json(j);
  CHECK(r.now.node.name == "1 of 2 nodes");
  CHECK(r.now.node.process_count == 2);
  CHECK(r.row_nodes == std::vector<std::string>{"a", "a"});
  CHECK(r.now.rows.size() == 2);
  CHECK(r.nodes_line.find("b DISCONNECTED (gone") != std::string::npos);
  CHECK(r.nodes_line.find("(Tab") == std::string::npos);
}

TEST_CASE("a recorded refresh with a silent node replays it as not answering with its ~NAME rows, not as disconnected") {
  // As etop recorded it live: b silent for 4 s, its rows 6 s old and kept 10 s.
  sample a = one_sample();
  a.at_s = 7;
  sample b = one_sample();
  b.node.name = "b";
  b.rows.resize(1);
  b.at_s = 1;
  member_view silent{"b", &b, nullptr, {}};
  silent.silent_s = 4;
  silent.rows_kept_s = 10;
  const std::vector<member_view> members{{"a", &a, nullptr, {}}, silent};
  const merged_rows m = merge_rows(members, view_state{});
  const fleet_header h = sum_nodes(members, 7);
  auto j = fleet_json(members, m, m.rows.size(), h);
  j["time"] = 100;
  const recorded_refresh r = refresh_from_json(nlohmann::json::parse(j.dump()));
  const std::string live = h.nodes_line.substr(0, h.nodes_line.rfind("  (Tab"));
  CHECK(r.nodes_line == live);
  CHECK(r.nodes_line.find("b NOT ANSWERING for 4s (its ~rows are 6s old, shown until 10s)") != std::string::npos);
  CHECK(r.nodes_line.find("DISCONNECTED") == std::string::npos);
  CHECK(r.row_nodes == m.node_names);
  CHECK(std::count(r.row_nodes.begin(), r.row_nodes.end(), "~b") == 1);
  CHECK(r.now.node.name == "1 of 2 nodes");
  CHECK(r.now.node.process_count == 2);  // a's only: a silent node is out of the sums
}

TEST_CASE("a recorded refresh of one node that was not answering replays its line and ~NAME rows") {
  const sample s = one_sample();
  auto j = refresh_json(s, rates{}, s.rows, 100);
  mark_not_answering(j, "r", 4, 6, 10);
  CHECK(j["problem"] == "not answering for 4 s");
  CHECK(j["processes"][1]["stale"] == true);
  const recorded_refresh r = refresh_from_json(nlohmann::json::parse(j.dump()));
  CHECK(r.nodes_line == "r NOT ANSWERING for 4s (its ~rows are 6s old, shown until 10s)");
  CHECK(r.row_nodes == std::vector<std::string>{"~r", "~r"});
  CHECK(r.now.node.name == "rec");
  CHECK(r.now.rows.size() == 2);
}

TEST_CASE("a recorded silent node whose not_answering_s is not a positive number is refused") {
  nlohmann::json j{{"time", 10}, {"processes", nlohmann::json::array()}};
  j["nodes"] = nlohmann::json::array({{{"name", "b"}, {"attached", false}, {"not_answering_s", -1}}});
  CHECK_THROWS_WITH_AS(refresh_from_json(j), "node b: \"not_answering_s\" is not a positive number of seconds",
                       std::runtime_error);
}

TEST_CASE("replay filters the recorded rows by name or behaviour") {
  const auto rows = one_sample().rows;
  CHECK(filtered(rows, "").size() == 2);
  REQUIRE(filtered(rows, "match").size() == 1);
  CHECK(filtered(rows, "worker")[0].id == pid{4, 1});
  CHECK(filtered(rows, "nobody").empty());
}
