#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "agner/snapshot/json.hpp"

using nlohmann::json;
using namespace agner::introspect;

TEST_CASE("a reply with a count out of integer range is refused as a field of the wrong type") {
  // fuzz/client_reply found it: a float like 2e51 where a count belongs was cast unchecked (UB).
  std::ifstream in(AGNER_SOURCE_DIR "/fuzz/corpus/client_reply/float_count_crash");
  REQUIRE(in);
  std::stringstream text;
  text << in.rdbuf();
  const json reply = json::parse(text.str());
  CHECK_THROWS_AS(process_row_from_json(reply.at("processes").at(0)), json::type_error);
  json row = to_json(process_row{});
  CHECK_NOTHROW(process_row_from_json(row));
  row["reductions"] = 1.5;
  CHECK_THROWS_AS(process_row_from_json(row), json::type_error);
}
