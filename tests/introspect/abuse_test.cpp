// The attach server under abuse (issue 15): what a legitimate client sees while strangers churn
// connections, send wrong proofs, hold sessions idle, try to forge log lines or nest requests
// deep. Each test is bounded by the protocol's own deadlines, not by sleeps.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "attach_support.hpp"

using namespace agner;
using namespace agner::introspect;
using namespace agner::test;
using nlohmann::json;
using wall = std::chrono::steady_clock;

namespace {

std::size_t count_lines(const std::vector<std::string>& lines, const std::string& part) {
  return static_cast<std::size_t>(
      std::count_if(lines.begin(), lines.end(), [&](auto& l) { return l.find(part) != std::string::npos; }));
}

}  // namespace

TEST_CASE("keyless TCP churn and slow hellos never keep the owner's Unix client waiting") {
  // A handshake deadline far longer than any attach: an owner who waited behind the strangers would
  // wait for it; one who did not is in within a fraction of it, however loaded the machine is.
  server_limits limits;
  limits.handshake_timeout = std::chrono::seconds(60);
  attached_node node(limits);
  const auto port = node.srv->tcp_port();
  std::atomic<bool> stop{false};
  std::atomic<int> opened{0};
  std::vector<std::thread> strangers;
  for (int t = 0; t < 2; ++t) {
    strangers.emplace_back([&, t] {
      while (!stop) {  // 8 connections at a time, re-opened as soon as closed
        std::vector<std::unique_ptr<raw>> held;
        for (int i = 0; i < 8 && !stop; ++i) {
          try {
            held.push_back(std::make_unique<raw>(port));
            if (t == 1) held.back()->send(R"({"id":1,"op":"hel)");  // slowloris: a hello that never ends
            ++opened;
          } catch (const std::exception&) {
          }
        }
      }
    });
  }
  const auto began = wall::now();
  REQUIRE(eventually([&] { return opened > 100; }));
  for (int i = 0; i < 20; ++i) {
    const auto start = wall::now();
    auto owner = node.unix_client();  // throws if refused
    CHECK(owner.top("msgq", 1).size() == 1);
    const auto took = wall::now() - start;
    CHECK_MESSAGE(took < limits.handshake_timeout / 4,
                  std::chrono::duration_cast<std::chrono::milliseconds>(took).count(), " ms");
  }
  stop = true;
  for (auto& t : strangers) t.join();
  // The log says what happened without a line per connection: 20 per started 10 s window.
  const auto windows = std::chrono::duration_cast<std::chrono::seconds>(wall::now() - began).count() / 10 + 2;
  CHECK(count_lines(node.logs.snapshot(), "in its handshake") <= static_cast<std::size_t>(20 * windows));
  CHECK(opened > 100);
}

TEST_CASE("a thousand wrong proofs slow only their own connections, and the right key then gets in") {
  attached_node node;
  const auto began = wall::now();
  for (int i = 0; i < 1000; ++i) {
    raw r(node.srv->tcp_port());
    REQUIRE(r.tcp_hello()["ok"] == true);
    r.send(R"({"id":2,"op":"auth","role":"admin","proof":"00"})" "\n");
  }  // each connection is closed without waiting for the (delayed) answer
  auto admin = node.tcp_client("admin", "admin.cookie");
  CHECK(admin.role() == "admin");
  CHECK(admin.top("msgq", 1).size() == 1);
  auto viewer = node.tcp_client("viewer", "viewer.cookie");
  CHECK(viewer.role() == "viewer");
  CHECK(node.srv->auth_failures() > 0);
  MESSAGE(node.srv->auth_failures(), " wrong proofs counted");
  node.srv.reset();  // says how many lines it kept back
  const auto windows = std::chrono::duration_cast<std::chrono::seconds>(wall::now() - began).count() / 10 + 1;
  auto lines = node.logs.snapshot();
  CHECK(count_lines(lines, "authentication failed for") <= static_cast<std::size_t>(20 * windows));
  CHECK(count_lines(lines, "similar connection error lines suppressed") >= 1);
}

TEST_CASE("sixteen idle sessions keep out another viewer, never an admin or the owner") {
  attached_node node;
  std::vector<std::unique_ptr<raw>> idle;
  for (int i = 0; i < 16; ++i) {
    idle.push_back(std::make_unique<raw>(node.srv->unix_path()));
    idle.back()->send(R"({"id":1,"op":"hello","versions":[1],"role":"viewer"})" "\n");
    REQUIRE(idle.back()->reply()["ok"] == true);
  }
  try {
    node.tcp_client("viewer", "viewer.cookie");
    FAIL("a 17th viewer got in");
  } catch (const client_error& e) {
    CHECK(e.code() == "busy");
    CHECK(std::string(e.what()) == "too many sessions (16); a viewer gets in when one closes, an admin always does");
  }
  auto admin = node.tcp_client("admin", "admin.cookie");
  CHECK(admin.top("msgq", 1).size() == 1);
  // The idlest session (the first) made room, and was told why.
  auto notice = idle[0]->reply();
  CHECK(notice["code"] == "busy");
  CHECK(notice["error"].get<std::string>().find("idlest") != std::string::npos);
  CHECK(idle[0]->closed());
  auto owner = node.unix_client("viewer");  // a same-uid Unix peer may always attach
  CHECK(owner.top("msgq", 1).size() == 1);
  CHECK(idle[1]->reply()["code"] == "busy");
  idle[15]->send(R"({"id":2,"op":"top","n":1})" "\n");
  CHECK(idle[15]->reply()["ok"] == true);
  CHECK(count_lines(node.logs.snapshot(), "closed the idlest session") == 2);
}

TEST_CASE("peer text cannot forge a log line") {
  attached_node node;
  const std::string forged = "viewer\nattach: kill by uid 4242 pid 1 (unix): kill <0.1.0> reason=kill";
  raw r(node.srv->tcp_port());
  REQUIRE(r.tcp_hello()["ok"] == true);
  r.send(json({{"id", 2}, {"op", "auth"}, {"role", forged}, {"proof", "00"}}).dump() + "\n");
  auto refused = r.reply();
  CHECK(refused["code"] == "bad_request");
  CHECK(refused["error"] == "role must be viewer or admin");
  CHECK(r.closed());
  // Text that other modules log (a kill reason becomes the exit reason) must be one line.
  auto admin = node.unix_client();
  try {
    admin.call({{"op", "kill"}, {"name", "worker"}, {"reason", "bye\n" + forged.substr(7)}});
    FAIL("a reason with a line feed was accepted");
  } catch (const client_error& e) {
    CHECK(e.code() == "bad_request");
    CHECK(std::string(e.what()) == "reason must not hold control characters (a line feed, an escape, ...)");
  }
  CHECK(node.rt.process_info(node.worker).has_value());
  CHECK_THROWS_WITH_AS(admin.call({{"op", "kill"}, {"name", "worker"}, {"reason", "csi \xc2\x9b" "2J"}}),
                       "reason must not hold control characters (a line feed, an escape, ...)", client_error);
  admin.call({{"op", "kill"}, {"name", "worker"}, {"reason", "say \"bye\" caf\xc3\xa9"}});
  REQUIRE(eventually([&] { return !node.rt.process_info(node.worker); }));
  auto lines = node.logs.snapshot();
  for (auto& l : lines) {
    CHECK_MESSAGE(l.find('\n') == std::string::npos, l);
    CHECK_MESSAGE(l.find("attach: kill by uid 4242") != 0, l);
  }
  CHECK(count_lines(lines, "reason=say \\\"bye\\\" caf\xc3\xa9") == 1);
}

TEST_CASE("an error that echoes a request shows it visibly: no control byte, C1 or bidi override once decoded") {
  attached_node node;
  auto admin = node.unix_client();
  const std::string hostile = "x\x1b[2J\xc2\x9b\u2028\u202e";
  for (const json& req : {json{{"op", "process_info"}, {"name", hostile}}, json{{"op", hostile}},
                          json{{"op", "top"}, {"sort", hostile}}}) {
    CAPTURE(req.dump());
    try {
      admin.call(req);
      FAIL("a hostile request was answered");
    } catch (const client_error& e) {
      const std::string what = e.what();
      CHECK(what.find("x\\x1b[2J\\u009b\\u2028\\u202e") != std::string::npos);
      CHECK(what.find('\x1b') == std::string::npos);
    }
  }
}

TEST_CASE("a request nested 32,000 deep is refused before parsing and the node goes on serving") {
  attached_node node;
  const std::string deep = R"({"op":"top","id":)" + std::string(32000, '[') + std::string(32000, ']') + "}\n";
  REQUIRE(deep.size() < 65536);
  raw r(node.srv->unix_path());
  r.send(R"({"id":1,"op":"hello","versions":[1]})" "\n");
  REQUIRE(r.reply()["ok"] == true);
  r.send(deep);
  auto refused = r.reply();
  CHECK(refused["code"] == "bad_request");
  CHECK(refused["error"] == "the request nests deeper than 32 levels");
  // Brackets inside strings do not count; 32 levels are fine.
  r.send(json({{"id", std::string(5000, '[')}, {"op", "top"}, {"n", 1}}).dump() + "\n");
  CHECK(r.reply()["ok"] == true);
  r.send(R"({"op":"top","n":1,"id":)" + std::string(31, '[') + std::string(31, ']') + "}\n");
  CHECK(r.reply()["ok"] == true);
  // Before authentication the connection is closed as well.
  raw stranger(node.srv->tcp_port());
  stranger.send(R"({"op":"hello","id":)" + std::string(2000, '{') + "\n");
  CHECK(stranger.reply()["code"] == "bad_request");
  CHECK(stranger.closed());
  CHECK(node.unix_client().top("msgq", 1).size() == 1);
}

TEST_CASE("when the TCP handshake slots are full the oldest is closed, and a failed prover waits apart") {
  // 3 slots, 1 failed prover waiting. The answers and the deadline are far off (a loaded machine
  // must not let them come first); the test never waits for them.
  server_limits limits;
  limits.max_unauthenticated_tcp = 3;
  limits.max_failed_proofs = 1;
  limits.auth_failure_delay = std::chrono::hours(1);
  limits.handshake_timeout = std::chrono::hours(1);
  attached_node node(limits);
  const auto port = node.srv->tcp_port();
  raw failed(port);
  REQUIRE(failed.tcp_hello()["ok"] == true);
  failed.send(R"({"id":2,"op":"auth","role":"admin","proof":"00"})" "\n");
  REQUIRE(eventually([&] { return node.srv->auth_failures() == 1; }));
  raw oldest(port);  // said hello, about to prove its key
  REQUIRE(oldest.tcp_hello()["ok"] == true);
  raw silent1(port), silent2(port);
  REQUIRE(eventually([&] { return node.srv->sessions() == 4; }));
  raw newcomer(port);  // 3 in their handshake (the failed prover is not counted): the oldest goes
  CHECK(oldest.reply()["code"] == "busy");
  REQUIRE(eventually([&] { return node.srv->sessions() == 4; }));
  REQUIRE(newcomer.tcp_hello()["ok"] == true);  // never refused, and it proceeds
  raw failed2(port);  // the oldest silent one makes room for it
  CHECK(silent1.reply()["code"] == "busy");
  REQUIRE(failed2.tcp_hello()["ok"] == true);
  failed2.send(R"({"id":2,"op":"auth","role":"admin","proof":"00"})" "\n");
  // Two failed provers waiting, one allowed: the first gets its answer now, not in an hour.
  CHECK(failed.reply()["code"] == "unauthenticated");
  CHECK(node.srv->auth_failures() == 2);
}
