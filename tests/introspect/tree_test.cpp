// supervision_tree over the wire: nesting, restarts in the window, the bounds, bad input.
#include <doctest/doctest.h>

#include <chrono>
#include <latch>
#include <thread>
#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it

#include "agner/introspect/tree.hpp"
#include "agner/runtime/supervisor.hpp"
#include "attach_support.hpp"

using namespace agner;
using namespace agner::introspect;
using namespace agner::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

struct idle final : behaviour {
  void handle(context&, message&) override {}
};

/// top_sup (one_for_one, 3 in 60 s): a nested inner_sup (rest_for_one, 5 in 10 s) over two
/// workers, then a temporary worker and a permanent registered one.
pid start_tree(runtime& rt) {
  std::vector<child_spec> inner{child_spec::worker<idle>("w1"), child_spec::worker<idle>("w2")};
  auto temp = child_spec::worker<idle>("temp");
  temp.restart = restart_type::temporary;
  child_spec named;
  named.id = "named";
  named.start = [](context& ctx) { return ctx.spawn_link_with<idle>(spawn_options{.name = "named_worker"}); };
  std::vector<child_spec> top{supervisor::child("inner_sup", {restart_strategy::rest_for_one, 5, 10s}, inner), temp, named};
  const pid sup = rt.spawn_with<supervisor>(spawn_options{.name = "top_sup"},
                                            supervisor_flags{restart_strategy::one_for_one, 3, 60s}, top);
  // Its children start in its init, on a scheduler: wait until the nested one has published too.
  REQUIRE(eventually([&] { return supervisor::all(rt).size() == 2; }));
  return sup;
}

const json& child(const json& sup, const std::string& id) {
  for (auto& c : sup.at("children"))
    if (c.at("id") == id) return c;
  FAIL("no child " << id);
  static json none;
  return none;
}

}  // namespace

TEST_CASE("supervision_tree nests supervisors with strategy, intensity, restart types and statuses") {
  attached_node node;
  const pid sup = start_tree(node.rt);
  auto c = node.unix_client("viewer");  // reading the tree is a viewer's right
  json t = c.call({{"op", "supervision_tree"}});
  CHECK(t.at("supervisors") == 2);
  CHECK(t.at("roots_total") == 1);
  CHECK(t.at("truncated") == false);
  REQUIRE(t.at("roots").size() == 1);
  const json& root = t["roots"][0];
  CHECK(root.at("pid") == fmt::format("{}", sup));
  CHECK(root.at("name") == "top_sup");
  CHECK(root.at("strategy") == "one_for_one");
  CHECK(root.at("intensity") == 3);
  CHECK(root.at("period_ms") == 60000);
  CHECK(root.at("restarts") == 0);
  CHECK(root.at("child_count") == 3);
  REQUIRE(root.at("children").size() == 3);
  CHECK(root["children"][0].at("id") == "inner_sup");  // start order
  const json& inner = child(root, "inner_sup");
  CHECK(inner.at("type") == "supervisor");
  CHECK(inner.at("restart") == "permanent");
  REQUIRE(inner.contains("supervisor"));
  CHECK(inner["supervisor"].at("strategy") == "rest_for_one");
  CHECK(inner["supervisor"].at("intensity") == 5);
  CHECK(inner["supervisor"].at("period_ms") == 10000);
  CHECK(inner["supervisor"].at("children").size() == 2);
  CHECK(inner["supervisor"]["children"][0].at("type") == "worker");
  CHECK(child(root, "temp").at("restart") == "temporary");
  CHECK(child(root, "named").at("name") == "named_worker");
  CHECK(child(root, "named").at("status") == "waiting");
  CHECK(t.at("entries") == 6);  // top_sup, its 3 children, inner's 2

  // Asked by name, the nested supervisor is the only root.
  json sub = c.call({{"op", "supervision_tree"}, {"name", "top_sup"}});
  CHECK(sub.at("roots").size() == 1);
  json by_pid = c.call({{"op", "supervision_tree"}, {"pid", inner["supervisor"].at("pid")}});
  REQUIRE(by_pid.at("roots").size() == 1);
  CHECK(by_pid["roots"][0].at("strategy") == "rest_for_one");
  CHECK(by_pid.at("entries") == 3);
}

TEST_CASE("supervision_tree counts the restarts within the window and shows a restarted child") {
  attached_node node;
  start_tree(node.rt);
  auto c = node.unix_client();
  const pid before = *node.rt.whereis("named_worker");
  node.rt.exit(before, "kill");
  json t;
  REQUIRE(eventually([&] {
    t = c.call({{"op", "supervision_tree"}, {"name", "top_sup"}});
    const json& named = child(t["roots"][0], "named");
    return t["roots"][0].at("restarts") == 1 && named.at("pid").is_string() &&
           named.at("pid") != fmt::format("{}", before);
  }));
  // The temporary child is not restarted: once killed it is forgotten.
  node.rt.exit(*parse_pid(child(t["roots"][0], "temp").at("pid").get<std::string>()), "kill");
  REQUIRE(eventually([&] {
    t = c.call({{"op", "supervision_tree"}, {"name", "top_sup"}});
    return t["roots"][0].at("child_count") == 2;
  }));
  CHECK(t["roots"][0].at("restarts") == 1);
}

TEST_CASE("supervision_tree stops at its depth and count bounds and says what it cut") {
  attached_node node;
  start_tree(node.rt);
  auto c = node.unix_client();
  json shallow = c.call({{"op", "supervision_tree"}, {"depth", 1}});
  CHECK(shallow.at("truncated") == true);
  const json& inner = child(shallow["roots"][0], "inner_sup");
  CHECK(inner.at("depth_truncated") == true);
  CHECK_FALSE(inner.contains("supervisor"));
  CHECK(shallow.at("entries") == 4);

  json few = c.call({{"op", "supervision_tree"}, {"max_entries", 2}});
  CHECK(few.at("truncated") == true);
  CHECK(few.at("entries") == 2);
  const json& root = few["roots"][0];
  CHECK(root.at("truncated") == true);
  CHECK(root.at("child_count") == 3);
  REQUIRE(root.at("children").size() == 1);
  // The one child shown is the nested supervisor, left without room for its own children.
  CHECK(root["children"][0]["supervisor"].at("children").empty());
  CHECK(root["children"][0]["supervisor"].at("truncated") == true);

  // The client's decoder reads what the node wrote.
  auto decoded = supervision_tree_from_json(c.call({{"op", "supervision_tree"}}));
  REQUIRE(decoded.roots.size() == 1);
  CHECK(decoded.roots[0].children[0].below.at(0).strategy == "rest_for_one");
}

TEST_CASE("supervision_tree refuses bad bounds, an unknown root and a process that is no supervisor") {
  attached_node node;
  start_tree(node.rt);
  auto c = node.unix_client();
  auto refused = [&](json req, const std::string& code, const std::string& text) {
    req["op"] = "supervision_tree";
    try {
      c.call(req);
      FAIL("accepted " << req.dump());
    } catch (const client_error& e) {
      CHECK(e.code() == code);
      CHECK(std::string(e.what()).find(text) != std::string::npos);
    }
  };
  refused({{"depth", 0}}, "bad_request", "depth must be an integer between 1 and 10");
  refused({{"depth", "deep"}}, "bad_request", "depth");
  refused({{"max_entries", 10001}}, "bad_request", "max_entries must be an integer between 1 and 10000");
  refused({{"deadline_ms", 5000}}, "bad_request", "deadline_ms");
  refused({{"pid", "0.5.1"}}, "bad_request", "pid must look like <0.I.S>");
  refused({{"pid", "<0.999999.0>"}}, "noproc", "no such process");
  refused({{"name", "nobody"}}, "noproc", "no such process: nobody");
  refused({{"name", "worker"}}, "bad_request", "is not a supervisor");
  // The session is still usable afterwards.
  CHECK(c.call({{"op", "supervision_tree"}}).at("roots").size() == 1);
}

TEST_CASE("supervision_tree on a node without supervisors answers an empty forest") {
  attached_node node;
  auto c = node.unix_client();
  json t = c.call({{"op", "supervision_tree"}});
  CHECK(t.at("roots").empty());
  CHECK(t.at("supervisors") == 0);
  CHECK(t.at("truncated") == false);
}

TEST_CASE("the deepest supervision_tree a client may ask for stays within the frame nesting limit") {
  attached_node node;
  child_spec chain = child_spec::worker<idle>("leaf");
  for (int i = 11; i >= 1; --i) chain = supervisor::child(fmt::format("level{}", i), {}, {chain});
  node.rt.spawn<supervisor>(supervisor_flags{}, std::vector<child_spec>{chain});
  REQUIRE(eventually([&] { return supervisor::all(node.rt).size() == 12; }));
  auto c = node.unix_client();
  json t = c.call({{"op", "supervision_tree"}, {"depth", 10}});  // the client refuses a reply nested past 32
  CHECK(t.at("truncated") == true);
  const json* s = &t["roots"][0];
  int levels = 1;
  while (s->at("children")[0].contains("supervisor")) {
    s = &s->at("children")[0]["supervisor"];
    ++levels;
  }
  CHECK(levels == 10);
  CHECK(s->at("children")[0].at("depth_truncated") == true);
}

TEST_CASE("supervision_tree cuts long child ids at 64 bytes so the largest reply fits a session's output bound") {
  attached_node node;
  node.rt.spawn<supervisor>(supervisor_flags{}, std::vector<child_spec>{child_spec::worker<idle>(std::string(300, 'x'))});
  REQUIRE(eventually([&] { return supervisor::all(node.rt).size() == 1; }));
  auto c = node.unix_client();
  json t = c.call({{"op", "supervision_tree"}});
  CHECK(t["roots"][0]["children"][0].at("id") == std::string(64, 'x'));
}

TEST_CASE("a supervisor stuck inside a handler is shown unresponsive once the deadline passes, and the session goes on") {
  attached_node node;
  const pid sup = start_tree(node.rt);
  std::latch entered(1), release(1);
  child_spec slow;
  slow.id = "slow_start";
  slow.start = [&](context& ctx) {  // holds the supervisor inside its start_child handler
    entered.count_down();
    release.wait();
    return ctx.spawn_link<idle>();
  };
  std::thread caller([&] { node.rt.call(sup, start_child{slow}, 60s); });
  entered.wait();
  auto c = node.unix_client();
  json t = c.call({{"op", "supervision_tree"}, {"deadline_ms", 50}});
  release.count_down();
  caller.join();
  REQUIRE(t.at("roots").size() == 1);
  CHECK(t["roots"][0].at("responsive") == false);
  CHECK(t["roots"][0].at("name") == "top_sup");
  CHECK_FALSE(t["roots"][0].contains("children"));
  // Once it is out of the handler it is read again, with the new child.
  REQUIRE(eventually([&] {
    json again = c.call({{"op", "supervision_tree"}, {"name", "top_sup"}});
    return again["roots"][0].value("child_count", 0) == 4;
  }));
}
