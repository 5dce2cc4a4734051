// matchstream-watcher: the write-up's fake_watcher (docs/matchstream.md, "Tools"). Plays recorded
// match files, or generated matches for load, over the watcher protocol, one connection and one
// thread a match, checking that each line is answered `OK <seq>` with seq counting up by one.
#include <atomic>
#include <utility>
#include <fstream>
#include <future>
#include <iostream>
#include <latch>
#include <mutex>
#include <random>
#include <thread>

#include <CLI/CLI.hpp>
#include <boost/asio.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "flags.hpp"
#include "server_address.hpp"

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace matchstream::tools;

namespace {

/// One step of a match: an event line to send, or a pause in match time.
struct step {
  std::string event;   ///< a JSON object as one line; empty for a pause
  double sleep_ms = 0;
};

struct match_plan {
  std::string id;
  std::vector<step> steps;  // finite (a file) ...
  bool synthetic = false;   // ... or generated until the duration passes
  std::size_t index = 0;
};

std::mutex out_mutex;
void say(const std::string& line) {
  std::lock_guard lock(out_mutex);
  std::cerr << "matchstream-watcher: " << line << "\n";
}

[[noreturn]] void die(const std::string& sentence) {
  std::cerr << "matchstream-watcher: " << sentence << "\n";
  std::exit(2);
}

// Reads a match file: a header line naming the match, then sleep_ms and event lines.
match_plan read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) die(fmt::format("cannot read {}", path));
  match_plan plan;
  std::string line;
  std::size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const std::exception&) {
      die(fmt::format("{} line {}: not a JSON object", path, number));
    }
    if (!j.is_object()) die(fmt::format("{} line {}: not a JSON object", path, number));
    if (plan.id.empty()) {
      if (!j.contains("match") || !j["match"].is_string() || j["match"].get<std::string>().empty())
        die(fmt::format("{} line {}: the first line must name the match (\"match\": \"<id>\")", path, number));
      plan.id = j["match"].get<std::string>();
    } else if (j.contains("sleep_ms")) {
      if (!j["sleep_ms"].is_number() || j["sleep_ms"].get<double>() < 0)
        die(fmt::format("{} line {}: sleep_ms must be a number of milliseconds >= 0", path, number));
      plan.steps.push_back({"", j["sleep_ms"].get<double>()});
    } else if (j.contains("kind")) {
      plan.steps.push_back({j.dump(), 0});
    } else {
      die(fmt::format("{} line {}: neither an event (\"kind\") nor a pause (\"sleep_ms\")", path, number));
    }
  }
  if (plan.id.empty()) die(fmt::format("{} is empty", path));
  return plan;
}

// The n-th generated event of a synthetic match (n = 0 is its start).
std::string synthetic_event(std::size_t match, std::size_t n, std::minstd_rand& rng) {
  std::string home = fmt::format("h{}", match), visit = fmt::format("v{}", match);
  if (n == 0) {
    nlohmann::json hp = nlohmann::json::array(), vp = nlohmann::json::array();
    for (int i = 1; i <= 11; ++i) {
      hp.push_back({i, fmt::format("Home{}", i)});
      vp.push_back({i, fmt::format("Visit{}", i)});
    }
    return nlohmann::json{{"kind", "start"}, {"home", home}, {"visit", visit}, {"home_players", hp},
                          {"visit_players", vp}}
        .dump();
  }
  const std::string& team = rng() % 2 ? home : visit;
  int player = static_cast<int>(rng() % 11) + 1;
  switch (rng() % 8) {
    case 0: return nlohmann::json{{"kind", "goal"}, {"team", team}, {"player", player}}.dump();
    case 1: return nlohmann::json{{"kind", "card"}, {"team", team}, {"player", player}, {"card", "yellow"}}.dump();
    case 2:
      return nlohmann::json{{"kind", "substitution"}, {"team", team}, {"player_out", player},
                            {"player_in", {player + 11, fmt::format("Sub{}", player + 11)}}}
          .dump();
    case 3: return nlohmann::json{{"kind", "penalty"}, {"team", team}, {"player", player}}.dump();
    default: return nlohmann::json{{"kind", "shot"}, {"team", team}, {"player", player}}.dump();
  }
}

struct settings {
  std::string host;
  std::uint16_t port = 0;
  double speed = 1;
  double rate = 1;
  double duration_s = 0;
  bool recreate = false;  // --recreate: reconnect a dropped connection, start a match that is gone again
};

struct result {
  std::size_t sent = 0;
  std::size_t errors = 0;
  long long last_seq = -1;
  std::size_t recreated = 0;  // reconnections and starts sent again (--recreate)
};

class player {
 public:
  player(const settings& s, match_plan plan) : s_(s), plan_(std::move(plan)), sock_(io_) {}

  // Plays the match; `started` is counted down after the start event is answered, and play goes
  // on only once `go` is ready.
  result play(std::latch& started, std::shared_future<void> go) {
    bool counted = false;
    auto count_down = [&] {
      if (!counted) started.count_down();
      counted = true;
    };
    try {
      open();
      if (plan_.synthetic) {
        start_ = synthetic_event(plan_.index, 0, start_rng_);
        std::minstd_rand rng(static_cast<unsigned>(plan_.index) + 1);
        auto t0 = std::chrono::steady_clock::now();
        auto period = std::chrono::duration<double>(1.0 / s_.rate);
        for (std::size_t n = 0;; ++n) {
          if (n == 1) {
            count_down();
            go.wait();
            t0 = std::chrono::steady_clock::now();
          }
          bool last = s_.duration_s > 0 && std::chrono::steady_clock::now() - t0 >= std::chrono::duration<double>(s_.duration_s);
          if (!send(last ? std::string(R"({"kind":"end"})") : synthetic_event(plan_.index, n, rng))) break;
          if (last) break;
          if (n >= 1) std::this_thread::sleep_until(t0 + std::chrono::duration_cast<std::chrono::steady_clock::duration>(period * static_cast<double>(n)));
        }
      } else {
        bool seen_start = false;
        for (const auto& st : plan_.steps) {
          if (st.event.empty()) {
            std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(st.sleep_ms / s_.speed));
            continue;
          }
          if (seen_start) {
            count_down();
            go.wait();
          }
          if (st.event.find(R"("kind":"start")") != std::string::npos) {
            seen_start = true;
            start_ = st.event;
          }
          if (!send(st.event)) break;
        }
      }
    } catch (const std::exception& e) {
      say(fmt::format("{}: {}", plan_.id, e.what()));
      ++r_.errors;
    }
    count_down();
    boost::system::error_code ignored;
    sock_.close(ignored);
    return r_;
  }

 private:
  void open() {
    boost::system::error_code ignored;
    sock_.close(ignored);
    in_.clear();
    sock_.connect({asio::ip::make_address(s_.host), s_.port});
    sock_.set_option(tcp::no_delay(true));
    asio::write(sock_, asio::buffer("VERSION:1:WATCH:" + plan_.id + "\n"));
  }

  // Sends one event line and checks its answer. With --recreate a dropped connection is opened
  // again (every 0.2 s, for up to 60 s) and the event sent again; a match the server no longer
  // has (`unknown match`, `match ended` while it was not this line's end) is started again.
  bool send(const std::string& event) {
    for (int attempt = 0;; ++attempt) {
      try {
        exchange(event);
        return true;
      } catch (const boost::system::system_error& e) {
        if (!s_.recreate || attempt >= 300) throw;
        if (attempt == 0) say(fmt::format("{}: {}; connecting again", plan_.id, e.what()));
        ++r_.recreated;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        try {
          open();
        } catch (const boost::system::system_error&) {
        }
      }
    }
  }

  void exchange(const std::string& event) {
    const std::string reply = ask(event);
    if (s_.recreate && !start_.empty() &&
        (reply.starts_with("ERROR: unknown match") || reply.starts_with("ERROR: match ended"))) {
      ++r_.recreated;
      r_.last_seq = -1;  // a new match process counts from 1 again
      check(ask(start_), start_);
      return;
    }
    check(reply, event);
  }

  std::string ask(const std::string& event) {
    asio::write(sock_, asio::buffer(event + "\n"));
    ++r_.sent;
    std::size_t n = asio::read_until(sock_, asio::dynamic_buffer(in_), '\n');
    std::string reply = in_.substr(0, n - 1);
    in_.erase(0, n);
    if (!reply.empty() && reply.back() == '\r') reply.pop_back();
    return reply;
  }

  void check(const std::string& reply, const std::string& event) {
    if (reply.starts_with("OK ")) {
      long long seq = std::stoll(reply.substr(3));
      if (r_.last_seq >= 0 && seq != r_.last_seq + 1) {
        say(fmt::format("{}: answered OK {} after OK {} (a gap)", plan_.id, seq, r_.last_seq));
        ++r_.errors;
      }
      r_.last_seq = seq;
      return;
    }
    say(fmt::format("{}: the server answered \"{}\" to {}", plan_.id, reply, event));
    ++r_.errors;
  }

  const settings& s_;
  match_plan plan_;
  asio::io_context io_;
  tcp::socket sock_;
  std::string in_;
  std::string start_;  // the match's start event, sent again by --recreate
  std::minstd_rand start_rng_{1};
  result r_;
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> files;
  std::string server = "127.0.0.1:7000";
  settings s;
  std::size_t synthetic = 0;
  bool hold = false;
  CLI::App app{"matchstream-watcher: plays match files (or generated matches) over the MatchStream watcher "
               "protocol, checking each OK <seq>; reports every error the server answers."};
  app.add_option("files", files, "match files (JSON lines: a header naming the match, then events and sleep_ms)");
  app.add_option("--server", server, "HOST:PORT of the server (default 127.0.0.1:7000)");
  app.add_option("--speed", s.speed, "match time runs this many times faster than real time (default 1)")
      ->check(CLI::Range(0.001, 1e9));
  app.add_option("--synthetic", synthetic, "also play M generated matches, ids synthetic-0..M-1")->check(CLI::Range(0, 100000));
  app.add_option("--rate", s.rate, "events per second in each generated match (default 1)")->check(CLI::Range(0.001, 1e6));
  app.add_option("--duration", s.duration_s, "seconds to play generated matches, then send end (0: never end)")
      ->check(CLI::Range(0.0, 864000.0));
  app.add_flag("--recreate", s.recreate,
               "keep matches up under failures: open a dropped connection again and resend its event, and send the "
               "start event again when the server answers that the match is unknown or ended (for chaos runs)");
  app.add_flag("--hold-after-start", hold,
               "after every match has started, wait for a line (or end of file) on standard input before the rest");
  matchstream::tools::parse_or_exit(app, argc, argv, "matchstream-watcher");
  auto addr = parse_server(server);
  if (!addr) die(fmt::format("--server {} is not HOST:PORT with an IP address and a port 1..65535", server));
  s.host = addr->first;
  s.port = addr->second;
  std::vector<match_plan> plans;
  for (const auto& f : files) plans.push_back(read_file(f));
  for (std::size_t i = 0; i < synthetic; ++i) {
    match_plan p;
    p.id = fmt::format("synthetic-{}", i);
    p.synthetic = true;
    p.index = i;
    plans.push_back(std::move(p));
  }
  if (plans.empty()) die("nothing to play: give match files or --synthetic M");

  std::latch started(static_cast<std::ptrdiff_t>(plans.size()));
  std::promise<void> go_promise;
  std::shared_future<void> go = go_promise.get_future().share();
  std::vector<result> results(plans.size());
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < plans.size(); ++i)
    threads.emplace_back([&, i] { results[i] = player(s, plans[i]).play(started, go); });
  started.wait();
  if (hold) {
    say(fmt::format("{} matches started; waiting for a line on standard input", plans.size()));
    std::string line;
    std::getline(std::cin, line);
  }
  go_promise.set_value();
  for (auto& t : threads) t.join();
  std::size_t errors = 0;
  for (std::size_t i = 0; i < plans.size(); ++i) {
    std::cout << fmt::format("matchstream-watcher: {}: {} events sent, last OK seq {}, {} errors{}\n", plans[i].id,
                             results[i].sent, results[i].last_seq, results[i].errors,
                             results[i].recreated ? fmt::format(", {} recreated", results[i].recreated) : "");
    errors += results[i].errors;
  }
  return errors ? 1 : 0;
}
