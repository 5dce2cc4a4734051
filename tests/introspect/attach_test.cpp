// The attach protocol over real sockets: a runtime, a server on a Unix socket and on loopback TCP,
// and clients that behave, and some that do not.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <cstdlib>
#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it

#include <boost/asio.hpp>
#include <filesystem>
#include <fstream>
#include <latch>

#include "attach_support.hpp"

using namespace agner;
using namespace agner::introspect;
using namespace agner::test;
namespace asio = boost::asio;
using nlohmann::json;

TEST_CASE("a client attaches over the Unix socket and lists the top processes of a running node") {
  attached_node node;
  std::latch entered(2), release(1);
  auto hold = [&](context&, message&) {  // two blockers hold both schedulers so queues stay put
    entered.count_down();
    release.wait();
  };
  node.rt.send(node.rt.spawn_fn(hold), 0);
  node.rt.send(node.rt.spawn_fn(hold), 0);
  entered.wait();
  for (int i = 0; i < 7; ++i) node.rt.send(node.worker, i);
  auto c = node.unix_client();
  CHECK(c.node() == "testnode");
  CHECK(c.role() == "admin");
  auto rows = c.top("msgq", 3);
  if (rows.size() != 3) release.count_down();  // (so that the runtime can stop)
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].id == node.worker);
  CHECK(rows[0].registered_name == "worker");
  CHECK(rows[0].message_queue_len == 7);
  auto info = c.system_info();
  CHECK(info.name == "testnode");
  CHECK(info.process_count == 3);
  CHECK(info.schedulers.size() == 2);
  CHECK(info.memory.resident_bytes > 0);
  release.count_down();
  CHECK_THROWS_WITH_AS(c.top("bogus", 3), doctest::Contains("unknown sort 'bogus'"), client_error);
  CHECK_THROWS_WITH_AS(c.top("msgq", 5000), "n must be an integer between 1 and 1000", client_error);
}

TEST_CASE("process_info over the wire: a live, a dead and an unresponsive process") {
  attached_node node;
  auto c = node.unix_client();
  auto live = c.process_info("worker");
  CHECK(live.responsive);
  CHECK(live.row.id == node.worker);
  CHECK(live.report.behaviour.find("fn_behaviour") != std::string::npos);

  pid gone = node.rt.spawn_fn([](context& ctx, message&) { ctx.exit(); });
  node.rt.send(gone, 0);
  REQUIRE(eventually([&] { return !node.rt.process_info(gone); }));
  // A process that ended lately is named with its exit reason; one never seen is simply unknown.
  try {
    c.process_info(fmt::format("{}", gone));
    FAIL("a dead process was found");
  } catch (const client_error& e) {
    CHECK(e.code() == "noproc");
    CHECK(std::string(e.what()) == fmt::format("process {} exited: normal", gone));
    CHECK(e.exit_reason() == "normal");
  }
  CHECK_THROWS_WITH_AS(c.process_info("<0.4000.9>"), "no such process: <0.4000.9>", client_error);
  CHECK_THROWS_WITH_AS(c.process_info("nobody"), "no such process: nobody", client_error);

  std::latch entered(1), release(1);
  pid busy = node.rt.spawn_fn([&](context&, message&) {
    entered.count_down();
    release.wait();
  });
  node.rt.send(busy, 0);
  entered.wait();
  auto stuck = c.process_info(fmt::format("{}", busy), 10, std::chrono::milliseconds(50));
  CHECK_FALSE(stuck.responsive);  // it is inside a handler and cannot answer
  CHECK(stuck.row.status == process_status::running);
  release.count_down();
}

TEST_CASE("admin operations are refused for a viewer, over the Unix socket and over TCP") {
  attached_node node;
  auto viewer = node.unix_client("viewer");
  CHECK(viewer.role() == "viewer");
  CHECK_THROWS_WITH_AS(viewer.call({{"op", "kill"}, {"name", "worker"}}),
                       "permission denied: kill needs the admin role (this session is viewer)", client_error);
  auto tcp_viewer = node.tcp_client("viewer", "viewer.cookie");
  CHECK(tcp_viewer.role() == "viewer");
  for (const char* op : {"kill", "garbage_collect", "suspend", "resume"})
    CHECK_THROWS_WITH_AS(tcp_viewer.call({{"op", op}, {"name", "worker"}}), doctest::Contains("permission denied"),
                         client_error);
  CHECK(node.rt.process_info(node.worker).has_value());
  // A viewer sees queued messages by type and size, never their contents.
  node.rt.suspend(node.worker);
  node.rt.send(node.worker, std::string("secret"));
  REQUIRE(eventually([&] { return node.rt.process_info(node.worker)->status == process_status::suspended; }));
  auto seen = tcp_viewer.process_info("worker");
  REQUIRE(seen.report.queue.size() == 1);
  CHECK(seen.report.queue[0].text.empty());
  auto admin = node.tcp_client("admin", "admin.cookie");
  CHECK(admin.process_info("worker").report.queue[0].text == "secret");
  admin.call({{"op", "resume"}, {"name", "worker"}});
  admin.call({{"op", "garbage_collect"}, {"name", "worker"}});
  admin.call({{"op", "kill"}, {"name", "worker"}, {"reason", "operator"}});
  REQUIRE(eventually([&] { return !node.rt.process_info(node.worker); }));
  auto lines = node.logs.snapshot();
  CHECK(std::count_if(lines.begin(), lines.end(), [](auto& l) { return l.find("attach: denied kill to") == 0; }) == 2);  // one per transport
  CHECK(std::count_if(lines.begin(), lines.end(), [](auto& l) {
          return l.find("attach: kill by 127.0.0.1:") == 0 && l.find("(tcp): kill <0.") != std::string::npos &&
                 l.find("reason=operator") != std::string::npos;
        }) == 1);
}

TEST_CASE("a cookie file readable by others is refused with the fix in the message") {
  std::string dir = temp_dir();
  write_file(dir + "/cookie", std::string(64, 'k'), 0644);
  runtime rt(test::two_schedulers());
  server_options o;
  o.unix_path = "off";
  o.tcp_listen = "127.0.0.1:0";
  o.cookie_file = dir + "/cookie";
  CHECK_THROWS_WITH_AS(server(rt, o),
                       doctest::Contains(fmt::format("(mode 0644); fix with: chmod 600 {}/cookie", dir).c_str()),
                       std::runtime_error);
  // A missing one is created, 0600.
  o.cookie_file = dir + "/fresh";
  { server s(rt, o); }
  struct stat st {};
  REQUIRE(::stat(o.cookie_file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  o.tcp_listen = "0.0.0.0:0";
  CHECK_THROWS_WITH_AS(server(rt, o), doctest::Contains("only loopback addresses"), std::runtime_error);
  std::filesystem::remove_all(dir);
}

TEST_CASE("bad clients get an error and a closed connection while another client keeps getting answers") {
  attached_node node;
  auto good = node.unix_client();
  auto still_answers = [&] { return good.top("msgq", 1).size() == 1; };

  SUBCASE("first frame not hello") {
    raw r(node.srv->unix_path());
    r.send(R"({"id":1,"op":"top"})" "\n");
    CHECK(r.reply()["error"] == "the first request must be hello");
    CHECK(r.closed());
  }
  SUBCASE("a 2^32-1 length prefix and no newline: closed at the frame limit, nothing allocated past it") {
    raw r(node.srv->unix_path());
    r.send(std::string("\xff\xff\xff\xff", 4) + std::string(5000, 'x'));
    CHECK(r.reply()["error"] == "frame longer than 4096 bytes");
    CHECK(r.closed());
  }
  SUBCASE("garbage bytes") {
    raw r(node.srv->unix_path());
    r.send(std::string("\x00\x01\xfe garbage\n", 12));
    CHECK(r.reply()["error"] == "malformed JSON");
    CHECK(r.closed());
  }
  SUBCASE("no common version") {
    raw r(node.srv->unix_path());
    r.send(R"({"id":1,"op":"hello","versions":[7]})" "\n");
    CHECK(r.reply()["error"] == "no common protocol version (this node speaks 1)");
    CHECK(r.closed());
  }
  SUBCASE("a wrong HMAC is answered late and closed, and the right key still gets in") {
    raw r(node.srv->tcp_port());
    r.send(json({{"id", 1}, {"op", "hello"}, {"versions", {1}}, {"nonce", std::string(64, '0')}}).dump() + "\n");
    CHECK(r.reply()["ok"] == true);
    r.send(R"({"id":2,"op":"auth","role":"admin","proof":"00"})" "\n");
    auto failed = r.reply();
    CHECK(failed["error"] == "authentication failed");
    CHECK(failed["code"] == "unauthenticated");
    CHECK(r.closed());
    CHECK(node.srv->auth_failures() == 1);
    CHECK(node.tcp_client("admin", "admin.cookie").role() == "admin");
  }
  SUBCASE("after authentication, a bad request gets an error and the session goes on") {
    raw r(node.srv->unix_path());
    r.send(R"({"id":1,"op":"hello","versions":[1]})" "\n");
    CHECK(r.reply()["ok"] == true);
    r.send("not json\n");
    CHECK(r.reply()["error"] == "malformed JSON");
    r.send(R"j({"id":2,"op":"eval","code":"os:cmd(\"rm\")"})j" "\n");
    CHECK(r.reply()["error"] == "unknown op 'eval'");
    r.send(R"({"id":3,"op":"top","n":"many"})" "\n");
    CHECK(r.reply()["error"] == "n must be an integer between 1 and 1000");
    r.send(R"({"id":4,"op":"top","n":1})" "\n");
    auto ok = r.reply();
    CHECK(ok["id"] == 4);
    CHECK(ok["ok"] == true);
    // A key said twice is refused, not read as its last value: which pid would this kill?
    r.send(R"({"id":5,"op":"kill","pid":"<0.0.0>","pid":"<0.1.0>"})" "\n");
    auto twice = r.reply();
    CHECK(twice["id"] == 5);
    CHECK(twice["code"] == "bad_request");
    CHECK(twice["error"] == "duplicate key \"pid\": each key may appear once in an object");
    r.send(R"({"id":6,"op":"top","n":1,"x":[{"a":1},{"a":2,"b":{"c":1,"c":2}}]})" "\n");
    CHECK(r.reply()["error"] == "duplicate key \"c\": each key may appear once in an object");
    CHECK(node.rt.process_info(node.worker));  // nothing was killed
    r.send(R"({"id":7,"op":"top","n":1,"x":[{"a":1},{"a":2}]})" "\n");
    CHECK(r.reply()["ok"] == true);  // the same key in two objects is no duplicate
  }
  SUBCASE("a duplicate key before the handshake is refused and closed") {
    raw r(node.srv->unix_path());
    r.send(R"({"id":1,"op":"hello","op":"auth","versions":[1]})" "\n");
    auto refused = r.reply();
    CHECK(refused["code"] == "bad_request");
    CHECK(refused["error"] == "duplicate key \"op\": each key may appear once in an object");
    CHECK(r.closed());
  }
  SUBCASE("a client that never reads is cut off at its output limit") {
    raw r(node.srv->unix_path());
    r.send(R"({"id":1,"op":"hello","versions":[1]})" "\n");
    r.line();
    for (int i = 0; i < 2000; ++i) node.rt.spawn_fn([](context&, message&) {});
    // Each reply lists 1000 rows (~250 KB); the socket buffer fills, then the 4 MiB queue.
    std::string burst;
    for (int i = 0; i < 100; ++i) burst += json({{"id", i}, {"op", "top"}, {"n", 1000}}).dump() + "\n";
    r.send(burst);
    CHECK(eventually([&] { return node.srv->sessions() == 1; }));  // only `good` is left
    auto lines = node.logs.snapshot();
    CHECK(std::count_if(lines.begin(), lines.end(),
                        [](auto& l) { return l.find("does not read its replies") != std::string::npos; }) == 1);
  }
  CHECK(still_answers());
}

TEST_CASE("a client that says nothing is closed at the handshake deadline") {
  server_limits limits;
  limits.handshake_timeout = std::chrono::milliseconds(50);
  attached_node node(limits);
  raw r(node.srv->unix_path());
  CHECK(r.reply()["error"] == "handshake deadline passed");
  CHECK(r.closed());
  // The node still answers. A client, too, has only 50 ms for its handshake: on a loaded machine
  // it may need another try.
  CHECK(eventually([&] {
    try {
      return node.unix_client().top("msgq", 1).size() == 1;
    } catch (const client_error&) {
      return false;
    }
  }));
}

TEST_CASE("local_nodes lists the nodes whose socket answers") {
  attached_node node;
  auto names = local_nodes(node.dir);
  REQUIRE(names.size() == 1);
  CHECK(names[0] == "testnode");
  write_file(node.dir + "/stale.sock", "", 0600);  // not a listening socket
  CHECK(local_nodes(node.dir).size() == 1);
}
