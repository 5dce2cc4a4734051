// MatchStream's HTTP API (examples/matchstream/src/http_api.hpp) over real sockets on loopback.
#include <doctest/doctest.h>

#include <utility>  // before Asio (Boost 1.74's awaitable.hpp needs std::exchange)

#include <memory>
#include <string>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "board.hpp"
#include "http_api.hpp"
#include "store.hpp"

using namespace matchstream;
using nlohmann::json;

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct answer {
  unsigned status = 0;
  std::string content_type, allow, content_length;
  std::string body;
};

tcp::socket connect(asio::io_context& io, std::uint16_t port) {
  tcp::socket s(io);
  s.connect({asio::ip::make_address("127.0.0.1"), port});
  return s;
}

// One request on an open connection; the answer, or status 0 if the server closed it instead.
answer ask(tcp::socket& s, http::verb method, const std::string& target) {
  http::request<http::empty_body> req{method, target, 11};
  req.set(http::field::host, "127.0.0.1");
  beast::error_code ec;
  http::write(s, req, ec);
  if (ec) return {};
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.skip(method == http::verb::head);  // a HEAD answer announces a body it does not send
  http::read(s, buffer, parser, ec);
  if (ec) return {};
  const auto& res = parser.get();
  return {res.result_int(), std::string(res[http::field::content_type]), std::string(res[http::field::allow]),
          std::string(res[http::field::content_length]), res.body()};
}

answer ask(std::uint16_t port, http::verb method, const std::string& target) {
  asio::io_context io;
  auto s = connect(io, port);
  return ask(s, method, target);
}

answer get(std::uint16_t port, const std::string& target) { return ask(port, http::verb::get, target); }

// Writes `raw` as it is and reads whatever comes back until the server closes.
std::string exchange(std::uint16_t port, const std::string& raw) {
  asio::io_context io;
  auto s = connect(io, port);
  asio::write(s, asio::buffer(raw));
  std::string out;
  beast::error_code ec;
  asio::read(s, asio::dynamic_buffer(out), ec);
  return out;
}

stored_event event(std::int64_t seq, const std::string& kind, const std::string& fields) {
  return {seq, kind, fields, 1'315'921'731'000'000 + seq};
}

// A board and a store holding one live match with two events.
struct fixture {
  board live;
  std::unique_ptr<database> db = database::open(":memory:");
  fixture() {
    match_summary s;
    s.id = "elp-tig-2011-09-10";
    s.home = "elp";
    s.visit = "tig";
    s.home_score = 1;
    s.period = "first";
    s.seq = 2;
    s.subscribers = 3;
    live.put(s);
    match_summary other;
    other.id = "gdc-boc-2011-09-10";
    live.put(other);
    db->save("elp-tig-2011-09-10", event(1, "start", R"({"kind":"start","home":"elp","visit":"tig"})"),
             R"({"home":"elp","visit":"tig","home_score":0})", false);
    db->save("elp-tig-2011-09-10", event(2, "goal", R"({"kind":"goal","team":"elp","player":25})"),
             R"({"home":"elp","visit":"tig","home_score":1})", false);
  }
};

}  // namespace

TEST_CASE("GET /matches lists the live matches by id with their teams, score, period and subscribers") {
  fixture f;
  http_api api("127.0.0.1", 0, f.live, *f.db);
  REQUIRE(api.port() != 0);
  const auto a = get(api.port(), "/matches");
  CHECK(a.status == 200);
  CHECK(a.content_type == "application/json");
  const auto j = json::parse(a.body);
  REQUIRE(j.is_array());
  REQUIRE(j.size() == 2);
  CHECK(j[0] == json{{"id", "elp-tig-2011-09-10"}, {"home", "elp"}, {"visit", "tig"}, {"home_score", 1},
                     {"visit_score", 0}, {"period", "first"}, {"seq", 2}, {"subscribers", 3}, {"ended", false}});
  CHECK(j[1]["id"] == "gdc-boc-2011-09-10");
  CHECK(get(api.port(), "/matches/").body == a.body);
  CHECK(get(api.port(), "/matches?format=json").body == a.body);
}

TEST_CASE("GET /matches/<id> answers the summary, the stored status and the events oldest first") {
  fixture f;
  http_api api("127.0.0.1", 0, f.live, *f.db);
  const auto a = get(api.port(), "/matches/elp-tig-2011-09-10");
  CHECK(a.status == 200);
  const auto j = json::parse(a.body);
  CHECK(j["id"] == "elp-tig-2011-09-10");
  CHECK(j["subscribers"] == 3);
  CHECK(j["status"] == json{{"home", "elp"}, {"visit", "tig"}, {"home_score", 1}});
  REQUIRE(j["events"].size() == 2);
  CHECK(j["events"][0] == json{{"seq", 1}, {"kind", "start"}, {"at_us", 1'315'921'731'000'001},
                               {"fields", {{"kind", "start"}, {"home", "elp"}, {"visit", "tig"}}}});
  CHECK(j["events"][1]["seq"] == 2);
  CHECK(j["events"][1]["fields"]["player"] == 25);

  // live but nothing stored yet: null status, no events
  const auto fresh = json::parse(get(api.port(), "/matches/gdc-boc-2011-09-10").body);
  CHECK(fresh["status"].is_null());
  CHECK(fresh["events"] == json::array());
}

TEST_CASE("a match only the store knows is served from its stored status") {
  fixture f;
  f.db->save("old-match", event(7, "end", "{}"), R"({"home":"aaa","visit":"bbb","home_score":2,"visit_score":3,"period":"second"})", true);
  f.db->save("broken-status", event(1, "start", "not json"), "not json {", false);
  http_api api("127.0.0.1", 0, f.live, *f.db);
  const auto j = json::parse(get(api.port(), "/matches/old-match").body);
  CHECK(j["home"] == "aaa");
  CHECK(j["visit_score"] == 3);
  CHECK(j["period"] == "second");
  CHECK(j["seq"] == 7);
  CHECK(j["ended"] == true);
  CHECK(j["subscribers"] == 0);
  // stored text that is not JSON is served as a string, never as broken JSON
  const auto b = json::parse(get(api.port(), "/matches/broken-status").body);
  CHECK(b["status"] == "not json {");
  CHECK(b["events"][0]["fields"] == "not json");
  // the list stays the live matches
  CHECK(json::parse(get(api.port(), "/matches").body).size() == 2);
}

TEST_CASE("an unknown match id or path is a 404 with a JSON error") {
  fixture f;
  http_api api("127.0.0.1", 0, f.live, *f.db);
  const auto a = get(api.port(), "/matches/no-such-match");
  CHECK(a.status == 404);
  CHECK(a.content_type == "application/json");
  CHECK(json::parse(a.body) == json{{"error", "unknown match no-such-match"}});
  const auto p = get(api.port(), "/metrics");
  CHECK(p.status == 404);
  CHECK(json::parse(p.body)["error"].get<std::string>().find("/matches") != std::string::npos);
  CHECK(get(api.port(), "/matchesx").status == 404);
  CHECK(get(api.port(), "/").status == 404);
}

TEST_CASE("a method other than GET or HEAD is a 405 naming the allowed ones") {
  fixture f;
  http_api api("127.0.0.1", 0, f.live, *f.db);
  for (auto method : {http::verb::post, http::verb::put, http::verb::delete_, http::verb::options}) {
    for (const char* target : {"/matches", "/matches/elp-tig-2011-09-10"}) {
      const auto a = ask(api.port(), method, target);
      CHECK(a.status == 405);
      CHECK(a.allow == "GET, HEAD");
      CHECK(json::parse(a.body).contains("error"));
    }
  }
}

TEST_CASE("HEAD answers the headers of GET without a body") {
  fixture f;
  http_api api("127.0.0.1", 0, f.live, *f.db);
  for (const char* target : {"/matches", "/matches/elp-tig-2011-09-10", "/matches/nope", "/nowhere", "/matches/%zz"}) {
    const auto g = get(api.port(), target);
    // read HEAD and then a GET on the same connection: a stray body would corrupt the second answer
    asio::io_context io;
    auto s = connect(io, api.port());
    const auto h = ask(s, http::verb::head, target);
    CHECK(h.status == g.status);
    CHECK(h.content_type == g.content_type);
    CHECK(h.content_length == std::to_string(g.body.size()));
    CHECK(h.body.empty());
    const auto again = ask(s, http::verb::get, target);
    CHECK(again.status == g.status);
    CHECK(again.body == g.body);
    // and on the wire: the headers and nothing after them
    const auto raw = exchange(api.port(), std::string("HEAD ") + target + " HTTP/1.1\r\nConnection: close\r\n\r\n");
    CHECK(raw.size() == raw.find("\r\n\r\n") + 4);
  }
}

TEST_CASE("a hostile match id in the path is decoded as data and escaped in the JSON") {
  fixture f;
  using namespace std::string_literals;
  const std::string hostile = "\"}]</script>\\\n\r\t\x01 ?#/é"s + "\0end"s;
  const std::string encoded = "%22%7D%5D%3C%2Fscript%3E%5C%0A%0D%09%01%20%3F%23%2F%C3%A9%00end";
  match_summary s;
  s.id = hostile;
  s.home = "<b>\"";
  f.live.put(s);
  f.db->save(hostile, event(1, "start\"", R"({"kind":"start\""})"), R"({"home":"<b>\""})", false);
  http_api api("127.0.0.1", 0, f.live, *f.db);

  const auto one = get(api.port(), "/matches/" + encoded);
  CHECK(one.status == 200);
  const auto j = json::parse(one.body);
  CHECK(j["id"] == hostile);
  CHECK(j["home"] == "<b>\"");
  CHECK(j["events"][0]["kind"] == "start\"");
  CHECK(json::parse(get(api.port(), "/matches").body)[0]["id"] == hostile);  // '"' sorts first

  // unknown: the 404 names it, escaped
  const auto missing = get(api.port(), "/matches/%22%0A%3Cx%3E");
  CHECK(missing.status == 404);
  CHECK(json::parse(missing.body)["error"] == "unknown match \"\n<x>");
  // bytes that are not UTF-8 become U+FFFD: still valid JSON
  const auto binary = get(api.port(), "/matches/%FF%FEx");
  CHECK(binary.status == 404);
  CHECK(json::parse(binary.body)["error"] == "unknown match \xEF\xBF\xBD\xEF\xBF\xBDx");
  // a broken escape is the client's error
  const auto bad = get(api.port(), "/matches/50%zz");
  CHECK(bad.status == 400);
  CHECK(json::parse(bad.body)["error"] == "bad match id in the path: 50%zz");
  CHECK(get(api.port(), "/matches/abc%4").status == 400);
}

TEST_CASE("a malformed or oversized request is answered 400 and closed") {
  fixture f;
  http_api api("127.0.0.1", 0, f.live, *f.db);
  const auto garbage = exchange(api.port(), "NOT HTTP AT ALL\r\n\r\n");
  CHECK(garbage.rfind("HTTP/1.1 400", 0) == 0);
  const auto huge = exchange(api.port(), "GET /matches HTTP/1.1\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n");
  CHECK(huge.rfind("HTTP/1.1 400", 0) == 0);
  // the API still serves
  CHECK(get(api.port(), "/matches").status == 200);
}

TEST_CASE("connections past the cap close the idlest ones and a new client is still served") {
  fixture f;
  http_api api("127.0.0.1", 0, f.live, *f.db);
  asio::io_context io;
  std::vector<tcp::socket> idle;
  for (int i = 0; i < 300; ++i) idle.push_back(connect(io, api.port()));
  // a newcomer is served although 300 connections sit idle
  const auto fresh = get(api.port(), "/matches");
  CHECK(fresh.status == 200);
  // at most the cap of them are still open: ask on each, count the answers
  int answered = 0;
  for (auto& s : idle) answered += ask(s, http::verb::get, "/matches").status == 200;
  CHECK(answered <= 256);
  CHECK(get(api.port(), "/matches").status == 200);
}

TEST_CASE("an address that cannot be listened on is an error naming it") {
  fixture f;
  http_api first("127.0.0.1", 0, f.live, *f.db);
  const auto port = first.port();
  try {
    http_api second("127.0.0.1", port, f.live, *f.db);
    FAIL("a second server on the same port");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find("127.0.0.1:" + std::to_string(port)) != std::string::npos);
  }
  CHECK_THROWS_WITH_AS(http_api("localhost-ish", 0, f.live, *f.db), doctest::Contains("localhost-ish"),
                       std::runtime_error);
}

TEST_CASE("the API stops with connections still open") {
  fixture f;
  asio::io_context io;
  std::vector<tcp::socket> open;
  {
    http_api api("127.0.0.1", 0, f.live, *f.db);
    for (int i = 0; i < 5; ++i) open.push_back(connect(io, api.port()));
    CHECK(ask(open[0], http::verb::get, "/matches").status == 200);
  }  // joins: would hang here if an idle connection kept the thread
  beast::error_code ec;
  char byte;
  open[1].read_some(asio::buffer(&byte, 1), ec);
  CHECK(ec);  // closed by the server
}
