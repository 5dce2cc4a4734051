// agner-node as an operator runs it: a real process, attached to over its socket, stopped by SIGTERM.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <utility>  // before Asio (Boost 1.74's awaitable.hpp needs std::exchange)

#include <boost/asio.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "agner/attach/client.hpp"
#include "node_support.hpp"
#include "support.hpp"

extern char** environ;

using namespace agner;
using namespace agner::test;

TEST_CASE("agner-node runs the synthetic workload, serves it, and stops cleanly on SIGTERM") {
  node_process node;
  auto c = node.attach();
  CHECK(c.node() == "nodetest");
  // The supervision tree is there, with its children, and the slow consumer gets its bursts.
  auto sup = c.process_info("workload_sup");
  CHECK(sup.responsive);
  CHECK(sup.report.state.find("slow_consumer=<0.") != std::string::npos);
  CHECK(sup.report.links.size() == 5);
  CHECK(eventually([&] { return c.process_info("slow_consumer").row.messages_received > 0; }));
  CHECK(c.system_info().process_count >= 14);  // 2 supervisors, 8 workers, 4 others
  CHECK(node.stop(SIGTERM) == 0);
  CHECK_FALSE(std::filesystem::exists(node.socket));  // removed on the way out
}

TEST_CASE("agner-node stops cleanly on SIGINT, and refuses a second node on the same socket") {
  node_process first;
  first.attach();
  CHECK(run({AGNER_NODE_BIN, "--socket", first.socket, "--workload", "none"}, first.dir + "/dup.err") == 1);
  CHECK(slurp(first.dir + "/dup.err").find("another node is serving " + first.socket) != std::string::npos);
  CHECK(first.stop(SIGINT) == 0);
}

TEST_CASE("a start refused for its socket directory prints the reason and nothing from the workload") {
  temp_dir dir;
  const std::string open = dir.path + "/open";
  std::filesystem::create_directory(open);
  std::filesystem::permissions(open, std::filesystem::perms(0755));
  const std::string err = dir.path + "/err";
  // The synthetic workload logs when its supervisors stop children: had it started, stderr would say so.
  CHECK(run({AGNER_NODE_BIN, "--socket", open + "/n.sock", "--metrics-listen", "off"}, err) == 1);
  CHECK(slurp(err) ==
        fmt::format("agner-node: socket directory {} is open to others (mode 0755); fix with: chmod 700 {}\n", open, open));
}

TEST_CASE("agner-node rejects a bad flag with its usage, and exits 2") {
  temp_dir dir;
  const std::string err = dir.path + "/err";
  auto refused = [&](std::vector<std::string> args, const std::string& sentence) {
    args.insert(args.begin(), AGNER_NODE_BIN);
    CHECK(run(args, err) == 2);
    const auto text = slurp(err);
    CHECK(text.find("agner-node: " + sentence + "\n") == 0);
    CHECK(text.find("usage: agner-node") != std::string::npos);
  };
  refused({"--schedulers", "zero"}, "--schedulers wants a number from 1 to 1024, not 'zero'");
  refused({"--schedulers=0"}, "--schedulers wants a number from 1 to 1024, not '0'");
  refused({"--bogus"}, "unknown flag --bogus");
  refused({"--bogus=1"}, "unknown flag --bogus");
  refused({"stray"}, "unexpected argument 'stray'");
  refused({"--listen-tcp", "127.0.0.1:abc"}, "--listen-tcp 127.0.0.1:abc: the port must be a number from 0 (pick a free one) to 65535, not 'abc'");
  refused({"--metrics-listen=127.0.0.1:65536"},
          "--metrics-listen 127.0.0.1:65536: the port must be a number from 0 (pick a free one) to 65535, not '65536'");
  // A control byte in a value or an argument is echoed visibly, on one line.
  refused({"--listen-tcp", "127.0.0.1:1\x1b[2Jx"},
          "--listen-tcp 127.0.0.1:1\\x1b[2Jx: the port must be a number from 0 (pick a free one) to 65535, not '1\\x1b[2Jx'");
  refused({"--bo\ngus"}, "unknown flag --bo\\x0agus");
  refused({"st\x1bray"}, "unexpected argument 'st\\x1bray'");
  refused({"--listen-tcp", "localhost:4000"}, "--listen-tcp localhost:4000: 'localhost' is not an IP address");
  refused({"--listen-tcp", "0.0.0.0:4000"}, "--listen-tcp 0.0.0.0:4000: not a loopback address; add --tcp-allow-remote to serve it "
                                            "beyond this host (anyone who reaches the port may try the HMAC handshake)");
  refused({"--metrics-listen", "0.0.0.0:4000"},
          "--metrics-listen 0.0.0.0:4000: not a loopback address; add --metrics-allow-remote to serve it beyond this host "
          "(/metrics has no authentication)");
  refused({"--workload", "busy"}, "--workload is synthetic or none, not 'busy'");
  refused({"--idle-processes", "-1"}, "--idle-processes wants a number from 0 to 268435456, not '-1'");
  refused({"--name"}, "--name: 1 required NAME missing");
  // Hostile names: one sentence, the bytes escaped (a terminal reading stderr sees no escape sequence).
  const std::string rule = "is not a node name: use 1 to 64 letters, digits, '_', '-' or '.', not starting with '.' or '-'";
  refused({"--name", "../x"}, "--name: \"../x\" " + rule);
  refused({"--name", "a/b"}, "--name: \"a/b\" " + rule);
  refused({"--name", "\x1b[2Jred\x01"}, "--name: \"\\x1b[2Jred\\x01\" " + rule);
  refused({"--name", "caf\xc3"}, "--name: \"caf\\xc3\" " + rule);  // invalid UTF-8
  refused({"--name", "caf\xc3\xa9"}, "--name: \"caf\xc3\xa9\" " + rule);  // valid UTF-8, shown as it is, but not ASCII
  refused({"--name=-x"}, "--name: \"-x\" " + rule);
  refused({"--name="}, "--name: 1 required NAME missing");
  refused({"--process-limit", "5"},
          "--process-limit 5 is below the 14 processes this node starts (synthetic workload: 14, --idle-processes: 0); give at least 14");
  refused({"--process-limit=20", "--workload", "none", "--idle-processes", "21"},
          "--process-limit 20 is below the 21 processes this node starts (none workload: 0, --idle-processes: 21); give at least 21");
  refused({"--name", std::string(65, 'n')}, "--name: \"" + std::string(64, 'n') + "...\" " + rule);
  // Good values pass the flags (--check-rules then runs and exits), --opt=value included; the
  // allow flags lift the loopback rule whatever their place on the line.
  const auto good = write_temp(dir.path, "good.json", R"({"version": 1})");
  CHECK(run({AGNER_NODE_BIN, "--idle-processes", "0", "--schedulers=2", "--listen-tcp", "[::1]:4000", "--check-rules=" + good}, err) == 0);
  CHECK(run({AGNER_NODE_BIN, "--metrics-listen", "0.0.0.0:4000", "--metrics-allow-remote", "--listen-tcp=0.0.0.0:0", "--tcp-allow-remote",
             "--check-rules", good},
            err) == 0);
}

TEST_CASE("agner-node --help lists every flag with its default") {
  temp_dir dir;
  const std::string out = dir.path + "/out";
  std::vector<std::string> args{AGNER_NODE_BIN, "--help"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t p = -1;
  REQUIRE(::posix_spawn(&p, AGNER_NODE_BIN, &fa, nullptr, argv.data(), environ) == 0);
  posix_spawn_file_actions_destroy(&fa);
  int status = 0;
  ::waitpid(p, &status, 0);
  CHECK(WEXITSTATUS(status) == 0);
  const auto help = slurp(out);
  for (const char* flag : {"--name NAME=agner", "--schedulers N=one per core", "--process-limit N=4194304", "--socket PATH|off=",
                           "--listen-tcp ADDR:PORT=off", "--tcp-allow-remote", "--cookie-file FILE=~/.config/agner/cookie",
                           "--viewer-cookie-file FILE=none", "--metrics-listen ADDR:PORT|off=127.0.0.1:39150", "--metrics-allow-remote",
                           "--metrics-process NAME=none", "--rules FILE=none", "--check-rules FILE", "--idle-processes N=0",
                           "--workload synthetic|none=synthetic", "--help"}) {
    CAPTURE(flag);
    CHECK(help.find(flag) != std::string::npos);
  }
}

TEST_CASE("agner-node's start line names what etop needs to attach: the name, a socket path or a TCP address") {
  temp_dir dir;
  const std::string out = dir.path + "/out";
  // (flags, what follows "attach with: etop ")
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
      {{"--socket", dir.path + "/elsewhere.sock"}, dir.path + "/elsewhere.sock"},
      {{"--socket", "off", "--listen-tcp", "127.0.0.1:0", "--cookie-file", dir.path + "/cookie"}, "127.0.0.1:"},
  };
  for (const auto& [flags, target] : cases) {
    CAPTURE(target);
    std::vector<std::string> args{AGNER_NODE_BIN, "--name", "hinted", "--workload", "none", "--metrics-listen", "off"};
    args.insert(args.end(), flags.begin(), flags.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t p = -1;
    REQUIRE(::posix_spawn(&p, AGNER_NODE_BIN, &fa, nullptr, argv.data(), environ) == 0);
    posix_spawn_file_actions_destroy(&fa);
    CHECK(eventually([&] { return slurp(out).find("serving introspection") != std::string::npos; }));
    ::kill(p, SIGTERM);
    ::waitpid(p, nullptr, 0);
    CHECK(slurp(out).find("attach with: etop " + target) != std::string::npos);
  }
}

namespace {
const char* good_rules = R"({"version": 1, "alarms": [
  {"id": "busy", "metric": "processes", "levels": [{"severity": "warning", "raise": 1000000}]}
], "valves": [{"id": "ingress", "triggers": ["busy"]}]})";
}  // namespace

TEST_CASE("--check-rules says a good file is good and lists each error of a bad one, with file:line:column") {
  char tmpl[] = "/tmp/agner-rules-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  const std::string dir = tmpl;
  const auto good = write_temp(dir, "good.json", good_rules);
  const auto bad = write_temp(dir, "bad.json", "{\"version\": 1,\n \"alarms\": [{\"id\": \"x\", \"metric\": \"cpu\", \"levels\": []}]}");
  CHECK(run({AGNER_NODE_BIN, "--check-rules", good}, dir + "/err") == 0);
  CHECK(run({AGNER_NODE_BIN, "--check-rules", bad}, dir + "/err") == 1);
  const auto err = slurp(dir + "/err");
  CHECK(err.find(bad + ":2:35: /alarms/0/metric: unknown metric 'cpu'") != std::string::npos);
  CHECK(err.find(bad + ":2:52: /alarms/0/levels: needs at least one level") != std::string::npos);
  CHECK(run({AGNER_NODE_BIN, "--rules", bad, "--socket", dir + "/s.sock"}, dir + "/err") == 1);  // will not start on it
  CHECK(slurp(dir + "/err").find("the rules file has errors") != std::string::npos);
  // A file name with a line break and an escape cannot forge a line or drive the terminal.
  const auto odd = write_temp(dir, "r\nagner: FORGED\x1b[31m.json", "{\"version\": 1, \"tick_ms\": 5}");
  CHECK(run({AGNER_NODE_BIN, "--check-rules", odd}, dir + "/err") == 1);
  CHECK(slurp(dir + "/err") == dir + "/r\\x0aagner: FORGED\\x1b[31m.json:1:27: /tick_ms: must be between 10 and 86400000 (a day)\n");
  std::filesystem::remove_all(dir);
}

TEST_CASE("a bad reload keeps the old rules and raises rules_reload_failed, a good one clears it") {
  char tmpl[] = "/tmp/agner-rules-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  const std::string rules_dir = tmpl;
  const auto file = write_temp(rules_dir, "rules.json", good_rules);
  node_process node({"--rules", file, "--workload", "none"});
  auto c = node.attach();
  auto alarms = [&] { return c.call({{"op", "alarms"}}); };
  CHECK(alarms()["active"].empty());
  write_temp(rules_dir, "rules.json", "{\"version\": 1, \"alarms\": [ {\"id\": 7} ]}");
  ::kill(node.pid, SIGHUP);
  REQUIRE(eventually([&] { return alarms()["active"].size() == 1; }));
  auto a = alarms()["active"][0];
  CHECK(a["id"] == "rules_reload_failed");
  CHECK(a["severity"] == "major");
  CHECK(a["description"].get<std::string>().find(file + ":1:28: /alarms/0: 'metric' is missing") == 0);  // the first, in file order
  CHECK(alarms()["valves"][0]["id"] == "ingress");  // the old rules are still in force
  // Through the admin protocol this time, once the file is fixed.
  write_temp(rules_dir, "rules.json", good_rules);
  auto r = c.call({{"op", "reload_rules"}});
  CHECK(r["reloaded"] == true);
  CHECK(alarms()["active"].empty());
  auto history = alarms()["history"];
  REQUIRE(history.size() == 2);
  CHECK(history[0]["to"] == "major");
  CHECK(history[1]["to"] == "inactive");
  std::filesystem::remove_all(rules_dir);
}

TEST_CASE("operators set, acknowledge and clear alarms and override valves, a viewer cannot") {
  node_process node({"--workload", "none"});
  auto admin = node.attach();
  auto viewer = introspect::client::attach_unix(node.socket, "viewer");
  CHECK_THROWS_WITH_AS(viewer.call({{"op", "set_alarm"}, {"alarm", "x"}, {"severity", "minor"}}),
                       doctest::Contains("permission denied"), introspect::client_error);
  admin.call({{"op", "set_alarm"}, {"alarm", "maintenance"}, {"severity", "minor"}, {"description", "disk swap at 14:00"}});
  CHECK_THROWS_WITH_AS(admin.call({{"op", "set_alarm"}, {"alarm", "x"}, {"severity", "apocalyptic"}}),
                       doctest::Contains("unknown severity 'apocalyptic'"), introspect::client_error);
  admin.call({{"op", "ack_alarm"}, {"alarm", "maintenance"}});
  auto info = viewer.system_info();
  REQUIRE(info.alarms.size() == 1);
  CHECK(info.alarms[0].acknowledged);
  CHECK(info.alarms[0].source == "application");
  CHECK_THROWS_WITH_AS(admin.call({{"op", "override_valve"}, {"valve", "ingress"}, {"mode", "closed"}, {"for_ms", 0}}),
                       doctest::Contains("an override must expire"), introspect::client_error);
  CHECK_THROWS_WITH_AS(admin.call({{"op", "override_valve"}, {"valve", "nope"}, {"mode", "closed"}}),
                       "no such valve: nope", introspect::client_error);
  admin.call({{"op", "clear_alarm"}, {"alarm", "maintenance"}});
  CHECK(viewer.system_info().alarms.empty());
  CHECK_THROWS_WITH_AS(admin.call({{"op", "clear_alarm"}, {"alarm", "maintenance"}}), "no such active alarm: maintenance",
                       introspect::client_error);
}

TEST_CASE("with the example rules, the slow consumer's bursts raise and clear a per-process alarm, checked at enqueue") {
  // The test drives the queue itself rather than wait for the workload to drain on the wall clock
  // (which a loaded or sanitized build may never do): suspended, the consumer keeps every burst, so
  // the queue passes raise and stays there past for_ms; killed, its queue goes with it, the end is
  // checked against clear, and the alarm clears after its hold.
  node_process node({"--rules", AGNER_SOURCE_DIR "/deploy/agner-rules.json"});
  auto c = node.attach();
  auto active_alarm = [&](const std::string& alarm) {
    const auto reply = c.call({{"op", "alarms"}});
    for (auto& a : reply["active"])
      if (a["id"] == alarm && a["source"].get<std::string>().find("slow_consumer") != std::string::npos) return a;
    return nlohmann::json();
  };
  c.call({{"op", "suspend"}, {"name", "slow_consumer"}});
  REQUIRE(eventually([&] { return !active_alarm("long_message_queue").is_null(); }, std::chrono::seconds(120)));
  auto active = active_alarm("long_message_queue");
  const auto source = active["source"].get<std::string>();
  CHECK(active["severity"] == "warning");
  CHECK(c.process_info("slow_consumer").row.message_queue_len >= 15000);  // the rules' raise
  c.call({{"op", "kill"}, {"name", "slow_consumer"}});
  REQUIRE(eventually(
      [&] {
        const auto reply = c.call({{"op", "alarms"}, {"history", 1000}});
        for (auto& h : reply["history"])
          if (h["alarm"] == "long_message_queue" && h["source"] == source && h["to"] == "inactive") return true;
        return false;
      },
      std::chrono::seconds(120)));
}

namespace {
/// GET http://127.0.0.1:port/path: the body, or "" when nothing answers.
std::string http_get(std::uint16_t port, const std::string& path) {
  namespace asio = boost::asio;
  asio::io_context io;
  asio::ip::tcp::socket s(io);
  boost::system::error_code ec;
  s.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
  if (ec) return "";
  asio::write(s, asio::buffer("GET " + path + " HTTP/1.0\r\nHost: localhost\r\n\r\n"), ec);
  std::string all;
  asio::read(s, asio::dynamic_buffer(all), ec);
  const auto split = all.find("\r\n\r\n");
  return split == std::string::npos ? "" : all.substr(split + 4);
}

/// A real Alertmanager on loopback, with a receiver that sends nowhere.
struct alertmanager {
  std::string dir;
  std::uint16_t port = 0;
  pid_t pid = -1;
  alertmanager() {
    char tmpl[] = "/tmp/agner-am-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    dir = tmpl;
    write_temp(dir, "am.yml", "route:\n  receiver: \"null\"\nreceivers:\n  - name: \"null\"\n");
    for (int attempt = 0; attempt < 20 && pid < 0; ++attempt) {
      port = static_cast<std::uint16_t>(20000 + (::getpid() * 7 + attempt * 131) % 20000);
      std::vector<std::string> args{"prometheus-alertmanager", "--config.file=" + dir + "/am.yml", "--storage.path=" + dir + "/data",
                                    fmt::format("--web.listen-address=127.0.0.1:{}", port), "--cluster.listen-address="};
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      posix_spawn_file_actions_t fa;
      posix_spawn_file_actions_init(&fa);
      posix_spawn_file_actions_addopen(&fa, 2, (dir + "/am.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      REQUIRE(::posix_spawnp(&pid, "prometheus-alertmanager", &fa, nullptr, argv.data(), environ) == 0);
      posix_spawn_file_actions_destroy(&fa);
      // Ready, or gone because its port was taken (then try another). No short deadline: on a
      // loaded machine Alertmanager can take many seconds to start, and that is not a failure.
      bool exited = false;
      const bool ready = eventually([&] {
        if (::waitpid(pid, nullptr, WNOHANG) == pid) return exited = true;
        return http_get(port, "/-/ready").find("OK") != std::string::npos;
      }, std::chrono::seconds(120));
      if (!ready || exited) {
        if (!exited) {
          ::kill(pid, SIGKILL);
          ::waitpid(pid, nullptr, 0);
        }
        pid = -1;
        REQUIRE_MESSAGE(exited, "prometheus-alertmanager did not become ready in 120 s");
      }
    }
    REQUIRE(pid > 0);
  }
  ~alertmanager() {
    ::kill(pid, SIGTERM);
    ::waitpid(pid, nullptr, 0);
    std::filesystem::remove_all(dir);
  }
  nlohmann::json alerts() {
    auto body = http_get(port, "/api/v2/alerts");
    return body.empty() ? nlohmann::json::array() : nlohmann::json::parse(body, nullptr, false);
  }
};
}  // namespace

TEST_CASE("alarms reach a real Alertmanager with startsAt, a rolling endsAt, and endsAt at the clear") {
  alertmanager am;
  char tmpl[] = "/tmp/agner-rules-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  const std::string dir = tmpl;
  const auto rules = write_temp(dir, "rules.json", fmt::format(R"({{"version": 1, "tick_ms": 100,
      "notify": {{"alertmanager": {{"url": "http://127.0.0.1:{}/api/v2/alerts", "resend_ms": 1000, "labels": {{"team": "runtime"}}}}}}}})",
                                                              am.port));
  node_process node({"--rules", rules, "--workload", "none"});
  auto c = node.attach();
  c.call({{"op", "set_alarm"}, {"alarm", "disk_full"}, {"severity", "major"}, {"description", "/var is 97% full"}});
  auto find = [&]() -> nlohmann::json {
    for (auto& a : am.alerts())
      if (a["labels"]["alertname"] == "disk_full") return a;
    return {};
  };
  REQUIRE(eventually([&] { return !find().is_null(); }));
  auto a = find();
  CHECK(a["labels"]["severity"] == "major");
  CHECK(a["labels"]["node"] == "nodetest");
  CHECK(a["labels"]["team"] == "runtime");
  CHECK(a["labels"]["source"] == "application");
  CHECK(a["annotations"]["description"] == "/var is 97% full");
  CHECK(a["status"]["state"] == "active");
  CHECK(a["endsAt"].get<std::string>() > a["startsAt"].get<std::string>());  // ISO 8601 sorts as text
  c.call({{"op", "clear_alarm"}, {"alarm", "disk_full"}});
  // Resolved: its endsAt is now the clear time, in the past, so Alertmanager stops listing it as active.
  REQUIRE(eventually([&] { return find().is_null(); }));
  std::filesystem::remove_all(dir);
}
