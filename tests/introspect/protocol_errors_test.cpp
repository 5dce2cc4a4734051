// Protocol errors (docs/protocol.md, "Errors"): every refusal carries a code beside a sentence that
// names the field and its range; nothing is clamped; the client turns a reply it cannot decode
// into its own error.
#include <doctest/doctest.h>

#include <thread>

#include "attach_support.hpp"

using namespace agner;
using namespace agner::introspect;
using namespace agner::test;
using nlohmann::json;

namespace {

/// Alarms with one active alarm ("a1") and one valve ("v1").
struct stub_alarms : alarm_control {
  std::vector<alarm_row> active() override { return {}; }
  std::vector<alarm_event> history(std::size_t) override { return {}; }
  std::vector<valve_row> valves() override { return {}; }
  bool acknowledge(const std::string& id) override { return id == "a1"; }
  void set(const std::string&, const std::string& severity, const std::string&) override {
    if (severity != "warning") throw std::invalid_argument(fmt::format("unknown severity '{}'", severity));
  }
  bool clear(const std::string& id) override { return id == "a1"; }
  bool override_valve(const std::string& id, const std::string&, std::int64_t) override { return id == "v1"; }
  std::vector<std::string> reload() override { return {}; }
};

struct refusal {
  json request;
  std::string code, error;
};

void check_refusals(client& c, const std::vector<refusal>& cases) {
  for (auto& r : cases) {
    CAPTURE(r.request.dump());
    try {
      c.call(r.request);
      FAIL("accepted");
    } catch (const client_error& e) {
      CHECK(e.code() == r.code);
      CHECK(std::string(e.what()) == r.error);
    }
  }
}

}  // namespace

TEST_CASE("field errors name the field and its range, carry a code, and nothing is clamped") {
  attached_node node;
  pid gone = node.rt.spawn_fn([](context& ctx, message&) { ctx.exit(); });
  node.rt.send(gone, 0);
  REQUIRE(eventually([&] { return !node.rt.process_info(gone); }));
  const std::string dead = fmt::format("{}", gone);
  auto c = node.unix_client();
  check_refusals(c, {
      {{{"op", "top"}, {"n", 0}}, "bad_request", "n must be an integer between 1 and 1000"},
      {{{"op", "top"}, {"n", 1001}}, "bad_request", "n must be an integer between 1 and 1000"},
      {{{"op", "top"}, {"n", 1.5}}, "bad_request", "n must be an integer between 1 and 1000"},
      {{{"op", "top"}, {"n", "many"}}, "bad_request", "n must be an integer between 1 and 1000"},
      {{{"op", "top"}, {"n", json::array()}}, "bad_request", "n must be an integer between 1 and 1000"},
      {{{"op", "top"}, {"sort", 7}}, "bad_request", "sort must be a string of 1 to 64 characters"},
      {{{"op", "top"}, {"filter", std::string(257, 'x')}}, "bad_request",
       "filter must be a string of at most 256 characters"},
      {{{"op", "process_info"}, {"pid", "garbage"}}, "bad_request", "pid must look like <0.I.S>, for example <0.5.1>"},
      {{{"op", "process_info"}, {"pid", 42}}, "bad_request", "pid must be a string of 1 to 64 characters"},
      {{{"op", "process_info"}, {"pid", dead}}, "noproc", "process " + dead + " exited: normal"},
      {{{"op", "process_info"}, {"name", "nobody"}}, "noproc", "no such process: nobody"},
      {{{"op", "process_info"}}, "bad_request", "give \"pid\" (like \"<0.5.1>\") or \"name\""},
      {{{"op", "process_info"}, {"name", "worker"}, {"messages", 101}}, "bad_request",
       "messages must be an integer between 0 and 100"},
      {{{"op", "process_info"}, {"name", "worker"}, {"bytes", -1}}, "bad_request",
       "bytes must be an integer between 0 and 65536"},
      {{{"op", "process_info"}, {"name", "worker"}, {"deadline_ms", 0}}, "bad_request",
       "deadline_ms must be an integer between 1 and 5000"},
      {{{"op", "process_info"}, {"name", "worker"}, {"deadline_ms", 6000}}, "bad_request",
       "deadline_ms must be an integer between 1 and 5000"},
      {{{"op", "kill"}, {"name", "worker"}, {"reason", ""}}, "bad_request",
       "reason must be a string of 1 to 256 characters"},
      {{{"op", "kill"}, {"pid", "<0.x.1>"}}, "bad_request", "pid must look like <0.I.S>, for example <0.5.1>"},
      {{{"op", "suspend"}, {"pid", dead}}, "noproc", "process " + dead + " exited: normal"},
      {{{"op", "alarms"}}, "unavailable", "this node has no alarms"},
      {{{"op", "eval"}, {"code", "os:cmd(\"rm\")"}}, "unknown_op", "unknown op 'eval'"},
      {{{"op", 5}}, "bad_request", "op must be a string"},
  });
  CHECK(node.rt.process_info(node.worker).has_value());  // the refused kill did nothing
  auto viewer = node.unix_client("viewer");
  check_refusals(viewer, {{{{"op", "kill"}, {"name", "worker"}}, "forbidden",
                           "permission denied: kill needs the admin role (this session is viewer)"}});
}

TEST_CASE("alarm request fields are checked against their ranges, and unknown ids are not_found") {
  stub_alarms alarms;
  char tmpl[] = "/tmp/agner-attach-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  const std::string dir = tmpl;
  runtime rt(two_schedulers());
  server_options o;
  o.unix_path = dir + "/a.sock";
  o.alarms = &alarms;
  server srv(rt, o);
  auto c = client::attach_unix(srv.unix_path());
  check_refusals(c, {
      {{{"op", "alarms"}, {"history", 1001}}, "bad_request", "history must be an integer between 0 and 1000"},
      {{{"op", "alarms"}, {"history", -1}}, "bad_request", "history must be an integer between 0 and 1000"},
      {{{"op", "ack_alarm"}}, "bad_request", "give \"alarm\": the alarm id (1-64 characters)"},
      {{{"op", "ack_alarm"}, {"alarm", std::string(65, 'a')}}, "bad_request",
       "alarm must be a string of 1 to 64 characters"},
      {{{"op", "ack_alarm"}, {"alarm", "nope"}}, "not_found", "no such active alarm: nope"},
      {{{"op", "set_alarm"}, {"alarm", "a\n1"}}, "bad_request",
       "alarm must not hold control characters (a line feed, an escape, ...)"},
      {{{"op", "set_alarm"}, {"alarm", "a2"}, {"description", "\x1b]0;pwned\x07"}}, "bad_request",
       "description must not hold control characters (a line feed, an escape, ...)"},
      {{{"op", "set_alarm"}, {"alarm", "a2"}, {"description", std::string(257, 'd')}}, "bad_request",
       "description must be a string of at most 256 characters"},
      {{{"op", "set_alarm"}, {"alarm", "a2"}, {"severity", "apocalyptic"}}, "bad_request",
       "unknown severity 'apocalyptic'"},
      {{{"op", "override_valve"}, {"valve", "v1"}, {"mode", "ajar"}}, "bad_request",
       "mode must be open, closed or automatic"},
      {{{"op", "override_valve"}, {"valve", "v1"}, {"mode", "open"}, {"for_ms", 0}}, "bad_request",
       "for_ms must be an integer between 1 and 86400000 (a day): an override must expire"},
      {{{"op", "override_valve"}, {"valve", "nope"}, {"mode", "open"}}, "not_found", "no such valve: nope"},
  });
  CHECK(c.call({{"op", "ack_alarm"}, {"alarm", "a1"}})["target"] == "a1");
  CHECK(c.call({{"op", "alarms"}, {"history", 1000}})["ok"] == true);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a frame past the limit, the client still sending, gets too_large and a clean end, not a reset") {
  // The node reads the rest and drops it before it closes: closing with it unread would send an RST
  // that can throw the answer away before the client reads it.
  attached_node node;
  for (bool tcp : {false, true}) {
    CAPTURE(tcp);
    auto r = tcp ? std::make_unique<raw>(node.srv->tcp_port()) : std::make_unique<raw>(node.srv->unix_path());
    boost::system::error_code ec;
    asio::write(r->sock, asio::buffer(std::string(1 << 20, 'x')), ec);
    CHECK_FALSE(ec);
    const auto reply = r->reply();
    CHECK(reply["code"] == "too_large");
    char c;
    r->sock.read_some(asio::buffer(&c, 1), ec);
    CHECK(ec == asio::error::eof);
  }
  // And the node goes on serving.
  CHECK(node.unix_client().top("msgq", 1).size() == 1);
}

TEST_CASE("handshake errors carry codes: version, unauthenticated, too_large, timeout") {
  // A generous deadline for the connections that speak (a loaded machine may stall one between
  // connect and send), and a short one on a second node for the one that says nothing.
  server_limits patient;
  patient.handshake_timeout = std::chrono::seconds(120);
  attached_node node(patient);
  server_limits hasty;
  hasty.handshake_timeout = std::chrono::milliseconds(200);
  attached_node hasty_node(hasty);
  {
    raw r(node.srv->unix_path());
    r.send(R"({"id":1,"op":"hello","versions":[7]})" "\n");
    CHECK(r.reply()["code"] == "version");
  }
  {
    raw r(node.srv->unix_path());
    r.send(R"({"id":1,"op":"hello","versions":"1"})" "\n");
    auto reply = r.reply();
    CHECK(reply["code"] == "bad_request");
    CHECK(reply["error"] == "versions must be an array of 1 to 16 protocol versions, like [1]");
  }
  {
    raw r(node.srv->unix_path());
    r.send(R"({"id":1,"op":"top"})" "\n");
    CHECK(r.reply()["code"] == "unauthenticated");
  }
  {
    raw r(node.srv->tcp_port());
    r.send(R"({"id":1,"op":"hello","versions":[1],"nonce":"zz"})" "\n");
    auto reply = r.reply();
    CHECK(reply["code"] == "bad_request");
    CHECK(reply["error"] == "nonce must be 64 hex digits (hello over TCP needs one)");
  }
  {
    raw r(node.srv->tcp_port());
    r.send(std::string(5000, 'x'));
    CHECK(r.reply()["code"] == "too_large");
  }
  {
    raw r(hasty_node.srv->tcp_port());
    CHECK(r.reply()["code"] == "timeout");
  }
}

TEST_CASE("the client turns a reply it cannot decode into client_error bad_reply") {
  char tmpl[] = "/tmp/agner-attach-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  const std::string dir = tmpl, path = dir + "/fake.sock";
  // A fake node: answers hello, then each request with the next scripted line.
  const std::vector<std::string> script = {
      R"({"id":1,"ok":true,"version":1,"node":"fake","auth":"peer_uid","role":"admin"})",
      R"({"id":2,"ok":true,"node":{"name":5}})",
      R"({"id":3,"ok":true,"processes":[{"pid":"<0.1.0>"}]})",
      "not json",
      R"({"id":5,"ok":false})",
      R"({"id":6,"ok":false,"code":"noproc","error":"no such process: x"})",
      R"({"id":7,"ok":true,"deep":)" + std::string(100, '[') + std::string(100, ']') + "}",
  };
  asio::io_context io;
  asio::local::stream_protocol::acceptor acceptor(io, asio::local::stream_protocol::endpoint(path));
  std::thread fake([&] {
    asio::local::stream_protocol::socket s(io);
    acceptor.accept(s);
    std::string in;
    for (auto& line : script) {
      boost::system::error_code ec;
      std::size_t n = asio::read_until(s, asio::dynamic_buffer(in), '\n', ec);
      if (ec) return;
      in.erase(0, n);
      asio::write(s, asio::buffer(line + "\n"), ec);
    }
  });
  auto c = client::attach_unix(path);
  CHECK(c.node() == "fake");
  const auto code_of = [](auto&& f) {
    try {
      f();
    } catch (const client_error& e) {
      CHECK_MESSAGE(std::string(e.what()).find("json.exception") == std::string::npos, e.what());
      return e.code();
    }
    return std::string("none");
  };
  CHECK(code_of([&] { c.system_info(); }) == "bad_reply");
  CHECK(code_of([&] { c.top("msgq", 1); }) == "bad_reply");
  CHECK(code_of([&] { c.call({{"op", "system_info"}}); }) == "bad_reply");
  CHECK(code_of([&] { c.call({{"op", "system_info"}}); }) == "error");
  CHECK(code_of([&] { c.process_info("x"); }) == "noproc");
  CHECK(code_of([&] { c.call({{"op", "system_info"}}); }) == "bad_reply");
  fake.join();
  std::filesystem::remove_all(dir);
}
