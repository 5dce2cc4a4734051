// The match's meaning apart from processes: blocks rendered byte for byte as matchstream_peer.erl's
// render/3 and line/2, and the status codec the store keeps.
#include <doctest/doctest.h>

#include "match.hpp"

using matchstream::apply_event;
using matchstream::match_status;
using nlohmann::json;

namespace {
// 2011-09-13 13:48:51 UTC, as in MATCHSTREAM.md's example.
constexpr std::int64_t at = 1315921731000000;

match_status started() {
  match_status s;
  auto a = apply_event(s, json::parse(R"({"kind":"start","home":"elp","visit":"tig",
      "home_players":[[25,"Albil"],[14,"Mercado"]],"visit_players":[[7,"Luna"]]})"), 1, at);
  REQUIRE(a.error.empty());
  return s;
}
}  // namespace

TEST_CASE("a start event renders the status with sorted rosters indented nine spaces") {
  match_status s;
  auto a = apply_event(s, json::parse(R"({"kind":"start","home":"elp","visit":"tig",
      "home_players":[[25,"Albil"],[14,"Mercado"]],"visit_players":[[7,"Luna"]]})"), 1, at);
  CHECK(a.block ==
        "2011-09-13 13:48:51: start:\n    seq: 1\n    at_us: 1315921731000000\n"
        "    home: elp\n    home_players:\n         Mercado (14)\n         Albil (25)\n    home_score: 0\n"
        "    visit: tig\n    visit_players:\n         Luna (7)\n    visit_score: 0\n    period: first\n\n");
}

TEST_CASE("a goal names the player from the team's roster and counts for the team") {
  auto s = started();
  auto a = apply_event(s, json::parse(R"({"team":"tig","player":7,"kind":"goal"})"), 2, at);
  CHECK(a.block == "2011-09-13 13:48:51: goal:\n    seq: 2\n    at_us: 1315921731000000\n"
                   "    player: Luna (7)\n    team: tig\n\n");
  CHECK(s.visit_score == 1);
  CHECK(s.home_score == 0);
}

TEST_CASE("fields are shown as the peer shows them: pairs, unknown players, floats, booleans, nulls, others") {
  auto s = started();
  auto a = apply_event(s, json::parse(R"({"kind":"x","team":"elp","player_out":99,"player_in":[21,"Silva"],
      "f":2.0,"g":1.5,"b":true,"n":null,"o":{"a":1},"l":[1,2,3]})"), 3, at);
  CHECK(a.block == "2011-09-13 13:48:51: x:\n    seq: 3\n    at_us: 1315921731000000\n"
                   "    b: true\n    f: 2.0\n    g: 1.5\n    l: ?\n    n: null\n    o: ?\n"
                   "    player_in: Silva (21)\n    player_out: N/N (99)\n    team: elp\n\n");
}

TEST_CASE("an empty kind or one past 32 bytes is refused and changes nothing") {
  auto s = started();
  CHECK(apply_event(s, json{{"kind", ""}}, 2, at).error == "bad event kind");
  CHECK(apply_event(s, json{{"kind", std::string(33, 'k')}}, 2, at).error == "bad event kind");
  CHECK(apply_event(s, json{{"kind", std::string(32, 'k')}}, 2, at).error.empty());
}

TEST_CASE("a period event sets the period the late client's status shows") {
  auto s = started();
  apply_event(s, json::parse(R"({"kind":"period","period":"second"})"), 2, at);
  CHECK(matchstream::render_status(s, 2, at).find("    period: second\n") != std::string::npos);
  CHECK(matchstream::block_kind(matchstream::render_status(s, 2, at)) == "status");
}

TEST_CASE("the stored status text comes back as the same status") {
  auto s = started();
  apply_event(s, json::parse(R"({"team":"elp","player":25,"kind":"goal"})"), 2, at);
  auto back = matchstream::status_from_json(matchstream::to_json(s));
  CHECK(matchstream::render_status(back, 2, at) == matchstream::render_status(s, 2, at));
  CHECK_THROWS_WITH_AS(matchstream::status_from_json("{}"),
                       doctest::Contains("a stored match status is not one this program wrote"), std::runtime_error);
  // A tampered score past int's range is refused, not converted (that would be undefined).
  auto j = json::parse(matchstream::to_json(s));
  j["home_score"] = 1e30;
  CHECK_THROWS_WITH_AS(matchstream::status_from_json(j.dump()), doctest::Contains("a score is not a whole number"),
                       std::runtime_error);
}

TEST_CASE("a newline in a name, a key or the kind cannot forge a block and changes nothing") {
  auto s = started();
  const auto before = matchstream::to_json(s);
  match_status fresh;
  CHECK(apply_event(fresh, json::parse(R"({"kind":"start","home":"a\n\nfake","visit":"b"})"), 1, at).error ==
        "home contains a control character");
  CHECK(!fresh.started);
  CHECK(apply_event(s, json::parse(R"({"kind":"start","home":"a","visit":"b",
      "home_players":[[1,"x\n\n2011-01-01 00:00:00: goal:\n    seq: 999"]]})"), 2, at).error ==
        "home_players contains a control character");
  CHECK(apply_event(s, json::parse(R"({"kind":"goal","x\n\ny":"z"})"), 2, at).error ==
        "key x\\x0a\\x0ay contains a control character");
  CHECK(apply_event(s, json::parse(R"({"kind":"go\nal"})"), 2, at).error == "kind contains a control character");
  CHECK(apply_event(s, json::parse(R"({"kind":"x","c1":"a\u0085b"})"), 2, at).error == "c1 contains a control character");
  CHECK(apply_event(s, json::parse(R"({"kind":"x","esc":"\u001b[2J"})"), 2, at).error == "esc contains a control character");
  CHECK(apply_event(s, json{{"kind", "x"}, {"bad", std::string("\xff\xfe")}}, 2, at).error == "bad is not valid UTF-8");
  CHECK(apply_event(s, json{{"kind", "x"}, {std::string(33, 'k'), 1}}, 2, at).error ==
        "key " + std::string(33, 'k') + " is longer than 32 bytes");
  CHECK(matchstream::to_json(s) == before);
  CHECK(apply_event(s, json::parse(R"({"kind":"x","name":"Müller – ok"})"), 2, at).error.empty());
}

TEST_CASE("player numbers outside 0..9999 are refused instead of wrapping onto another player") {
  match_status s;
  CHECK(apply_event(s, json::parse(R"({"kind":"start","home":"a","visit":"b",
      "home_players":[[18446744073709551615,"Big"],[1,"Neg"]]})"), 1, at).error ==
        "home_players has player number 18446744073709551615 outside 0..9999");
  CHECK(apply_event(s, json::parse(R"({"kind":"start","home":"a","visit":"b","visit_players":[[-1,"Neg"]]})"), 1, at)
            .error == "visit_players has player number -1 outside 0..9999");
  CHECK(!s.started);
  s = started();
  CHECK(apply_event(s, json::parse(R"({"kind":"goal","team":"elp","player":18446744073709551615})"), 2, at).error ==
        "player 18446744073709551615 is outside 0..9999");
  CHECK(apply_event(s, json::parse(R"({"kind":"sub","player_in":[10000,"X"]})"), 2, at).error ==
        "player_in has player number 10000 outside 0..9999");
  CHECK(s.home_score == 0);
  CHECK(apply_event(s, json::parse(R"({"kind":"goal","team":"elp","player":9999})"), 2, at).error.empty());
}

TEST_CASE("echoed input shows control bytes and invalid UTF-8 as hex escapes and is capped") {
  CHECK(matchstream::escaped("x\x1b[2J") == "x\\x1b[2J");
  CHECK(matchstream::escaped("\xff\xfe") == "\\xff\\xfe");
  CHECK(matchstream::escaped("Müller") == "Müller");
  CHECK(matchstream::escaped(std::string(100, 'a'), 64) == std::string(64, 'a') + "...");
}

TEST_CASE("a start without both team names or with loose rosters is refused naming the field") {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"kind":"start"})", "home must be a team name of 1 to 64 bytes"},
      {R"({"kind":"start","home":"a"})", "visit must be a team name of 1 to 64 bytes"},
      {R"({"kind":"start","home":1,"visit":"b"})", "home must be a team name of 1 to 64 bytes"},
      {R"({"kind":"start","home":"","visit":"b"})", "home must be a team name of 1 to 64 bytes"},
      {R"({"kind":"start","home":"a","visit":"a"})", "home and visit are the same team a"},
      {R"({"kind":"start","home":"a","visit":"b","home_players":"x"})",
       "home_players must be a list of [number, \"name\"] pairs"},
      {R"({"kind":"start","home":"a","visit":"b","home_players":[[1.5,"y"]]})",
       "home_players entry [1.5,\"y\"] is not a [number 0..9999, \"name of 1 to 64 bytes\"] pair"},
      {R"({"kind":"start","home":"a","visit":"b","visit_players":[["1","s"]]})",
       "visit_players entry [\"1\",\"s\"] is not a [number 0..9999, \"name of 1 to 64 bytes\"] pair"},
      {R"({"kind":"start","home":"a","visit":"b","home_players":[[1]]})",
       "home_players entry [1] is not a [number 0..9999, \"name of 1 to 64 bytes\"] pair"},
      {R"({"kind":"start","home":"a","visit":"b","home_players":[{"n":1}]})",
       "home_players entry {\"n\":1} is not a [number 0..9999, \"name of 1 to 64 bytes\"] pair"},
      {R"({"kind":"start","home":"a","visit":"b","home_players":[[1,"a","b"]]})",
       "home_players entry [1,\"a\",\"b\"] is not a [number 0..9999, \"name of 1 to 64 bytes\"] pair"},
      {R"({"kind":"start","home":"a","visit":"b","home_players":[[1,""]]})",
       "home_players entry [1,\"\"] is not a [number 0..9999, \"name of 1 to 64 bytes\"] pair"},
      {R"({"kind":"start","home":"a","visit":"b","home_players":[[1,"x"],[1,"dup"]]})",
       "home_players lists number 1 twice"},
  };
  for (const auto& [event, want] : cases) {
    CAPTURE(event);
    match_status fresh;
    CHECK(apply_event(fresh, json::parse(event), 1, at).error == want);
    CHECK(!fresh.started);
    auto s = started();
    const auto before = matchstream::to_json(s);
    CHECK(apply_event(s, json::parse(event), 2, at).error == want);
    CHECK(matchstream::to_json(s) == before);
  }
  match_status s;
  const std::string long_name(65, 'n');
  CHECK(apply_event(s, json{{"kind", "start"}, {"home", long_name}, {"visit", "b"}}, 1, at).error ==
        "home must be a team name of 1 to 64 bytes");
  CHECK(apply_event(s, json{{"kind", "start"}, {"home", "a"}, {"visit", "b"},
                            {"home_players", json::array({json::array({1, long_name})})}}, 1, at)
            .error.starts_with("home_players entry [1,\"nnnn"));
  CHECK(!s.started);
  CHECK(apply_event(s, json{{"kind", "start"}, {"home", std::string(64, 'h')}, {"visit", "b"},
                            {"home_players", json::array({json::array({0, std::string(64, 'p')}), json::array({9999, "Z"})})}},
                    1, at).error.empty());
  CHECK(s.home_players.size() == 2);
}

TEST_CASE("the kind rule is the same whether or not the match exists") {
  CHECK(matchstream::kind_error(json{{"kind", ""}}) == "bad event kind");
  CHECK(matchstream::kind_error(json{{"kind", std::string(33, 'k')}}) == "bad event kind");
  CHECK(matchstream::kind_error(json{{"kind", "start\x07"}}) == "kind contains a control character");
  CHECK(matchstream::kind_error(json{{"kind", std::string("go\xff")}}) == "kind is not valid UTF-8");
  CHECK(matchstream::kind_error(json{{"kind", std::string(32, 'k')}}).empty());
  match_status s;
  CHECK(apply_event(s, json{{"kind", ""}}, 1, at).error == "bad event kind");
}
