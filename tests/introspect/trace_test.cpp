// trace_start and trace_stop over a real Unix socket (docs/protocol.md, "Message tracing").
#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include "agner/runtime/trace.hpp"
#include "attach_support.hpp"

using namespace agner;
using namespace agner::introspect;
using namespace agner::test;
using nlohmann::json;

namespace {

/// The next event frame of `kind` ("trace", "trace_end", ...), skipping others; the deadline bounds
/// a hang only.
json next_of(client& c, const std::string& kind) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < until) {
    auto e = c.next_event(std::chrono::milliseconds(500));
    if (e && e->value("event", "") == kind) return *e;
  }
  FAIL("no ", kind, " event within 60 s");
  return {};
}

json trace_request(const std::string& name, int count, int seconds) {
  return {{"op", "trace_start"}, {"name", name}, {"count", count}, {"seconds", seconds}};
}

}  // namespace

TEST_CASE("a trace shows received and sent messages with their peer and stops at its message budget") {
  attached_node node;
  pid echo = node.rt.spawn_fn(
      [&](context& ctx, message& m) {
        if (auto* n = m.get<int>()) ctx.send(node.worker, *n * 10);
      },
      spawn_options{.name = "echo"});
  auto c = node.unix_client();
  json req = trace_request("echo", 3, 60);
  req["sent"] = true;
  const json started = c.call(req);
  CHECK(started["pid"] == fmt::format("{}", echo));
  const int id = started["trace"];
  node.rt.send(echo, 4);
  node.rt.send(echo, 5);  // 4 in, 40 out, 5 in: the budget of 3 is spent, 50 out is not shown
  std::vector<json> seen;
  for (int i = 0; i < 3; ++i) seen.push_back(next_of(c, "trace"));
  CHECK(seen[0]["kind"] == "received");
  CHECK(seen[0]["text"] == "4");
  CHECK(seen[0]["type"] == "int");
  CHECK(seen[0]["peer"].is_null());  // sent from outside any process
  CHECK(seen[0]["trace"] == id);
  const json out = seen[1]["kind"] == "sent" ? seen[1] : seen[2];
  CHECK(out["kind"] == "sent");
  CHECK(out["text"] == "40");
  CHECK(out["peer"] == fmt::format("{}", node.worker));
  const json end = next_of(c, "trace_end");
  CHECK(end["reason"] == "count");
  CHECK(end["shown"] == 3);
  REQUIRE(eventually([&] { return trace_count(node.rt) == 0; }));
  CHECK_THROWS_WITH_AS(c.call({{"op", "trace_stop"}, {"trace", id}}), doctest::Contains("no such trace"), client_error);
}

TEST_CASE("a trace past its rate limit counts the messages it does not show") {
  attached_node node;
  auto c = node.unix_client();
  json req = trace_request("worker", 100, 60);
  req["rate"] = 2;
  const int id = c.call(req)["trace"];
  for (int i = 0; i < 50; ++i) node.rt.send(node.worker, i);
  c.call({{"op", "trace_stop"}, {"trace", id}});
  const json end = next_of(c, "trace_end");
  CHECK(end["reason"] == "stopped");
  const std::uint64_t shown = end["shown"], suppressed = end["suppressed"];
  CHECK(shown + suppressed == 50);
  CHECK(shown < 50);  // at 2 a second, 50 would take 25 s
  CHECK(suppressed > 0);
  CHECK(trace_count(node.rt) == 0);
}

TEST_CASE("trace_start needs the admin role and refuses a fifth trace on the node") {
  attached_node node;
  auto viewer = node.unix_client("viewer");
  CHECK_THROWS_WITH_AS(viewer.call(trace_request("worker", 5, 5)),
                       "permission denied: trace_start needs the admin role (this session is viewer)", client_error);
  auto a = node.unix_client(), b = node.unix_client();
  std::vector<int> ids;
  for (int i = 0; i < 2; ++i) ids.push_back(a.call(trace_request("worker", 5, 60))["trace"]);
  for (int i = 0; i < 2; ++i) b.call(trace_request("worker", 5, 60));
  try {
    a.call(trace_request("worker", 5, 60));
    FAIL("a fifth trace was accepted");
  } catch (const client_error& e) {
    CHECK(e.code() == "busy");
    CHECK(std::string(e.what()) == "too many message traces on this node (limit 4); stop one with trace_stop");
  }
  a.call({{"op", "trace_stop"}, {"trace", ids[0]}});
  CHECK_NOTHROW(a.call(trace_request("worker", 5, 60)));
}

TEST_CASE("a trace ends with its session and with the traced process") {
  attached_node node;
  {
    auto c = node.unix_client();
    c.call(trace_request("worker", 5, 60));
    CHECK(trace_count(node.rt) == 1);
  }  // the session closes
  REQUIRE(eventually([&] { return trace_count(node.rt) == 0; }));

  pid doomed = node.rt.spawn_fn([](context&, message&) {}, spawn_options{.name = "doomed"});
  auto c = node.unix_client();
  c.call(trace_request("doomed", 5, 60));
  node.rt.exit(doomed, "shutdown");
  const json end = next_of(c, "trace_end");
  CHECK(end["reason"] == "exited");
  CHECK(end["exit_reason"] == "shutdown");
  CHECK(trace_count(node.rt) == 0);
  // and the node's trace slot is free again: four more fit
  for (int i = 0; i < 4; ++i) CHECK_NOTHROW(c.call(trace_request("worker", 5, 60)));
}

TEST_CASE("trace_start refuses bad input with a sentence naming the field") {
  attached_node node;
  auto c = node.unix_client();
  const auto refused = [&](json req, const std::string& code, const std::string& why) {
    req["op"] = req.value("op", "trace_start");
    try {
      c.call(req);
      FAIL("accepted: ", req.dump());
    } catch (const client_error& e) {
      CHECK(e.code() == code);
      CHECK(std::string(e.what()) == why);
    }
  };
  refused({{"name", "worker"}, {"seconds", 5}}, "bad_request", "count is required: stop after this many messages (1 to 10000)");
  refused({{"name", "worker"}, {"count", 5}}, "bad_request", "seconds is required: stop after this many seconds (1 to 3600)");
  refused({{"name", "worker"}, {"count", 0}, {"seconds", 5}}, "bad_request", "count must be an integer between 1 and 10000");
  refused({{"name", "worker"}, {"count", 5}, {"seconds", 7200}}, "bad_request", "seconds must be an integer between 1 and 3600");
  refused({{"name", "worker"}, {"count", 5}, {"seconds", 5}, {"rate", 0}}, "bad_request", "rate must be an integer between 1 and 1000");
  refused({{"name", "worker"}, {"count", 5}, {"seconds", 5}, {"sent", "yes"}}, "bad_request", "sent must be true or false");
  refused({{"name", "nobody"}, {"count", 5}, {"seconds", 5}}, "noproc", "no such process: nobody");
  refused({{"pid", "<0.x.1>"}, {"count", 5}, {"seconds", 5}}, "bad_request", "pid must look like <0.I.S>, for example <0.5.1>");
  refused({{"op", "trace_stop"}}, "bad_request", "trace is required: the number trace_start answered");
  refused({{"op", "trace_stop"}, {"trace", 9}}, "not_found", "no such trace in this session: 9");
  CHECK(trace_count(node.rt) == 0);
  CHECK(c.system_info().name == "testnode");  // the session goes on
}

TEST_CASE("a trace ends when its time budget has passed, with the reason seconds") {
  attached_node node;
  auto c = node.unix_client();
  const int id = c.call(trace_request("worker", 100, 1))["trace"];
  const json end = next_of(c, "trace_end");  // waits on the frame; no timing is asserted
  CHECK(end["trace"] == id);
  CHECK(end["reason"] == "seconds");
  CHECK(end["shown"] == 0);
  REQUIRE(eventually([&] { return trace_count(node.rt) == 0; }));
}
