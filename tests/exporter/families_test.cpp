// The exporter's metric table against docs/metrics.md, so that the doc and the endpoint cannot drift.
#include <doctest/doctest.h>

#include <utility>  // before Asio (Boost 1.74's awaitable.hpp needs std::exchange)

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "agner/exporter/exporter.hpp"
#include "agner/exporter/families.hpp"
#include "scrape.hpp"
#include "support.hpp"

using namespace agner;

namespace {

std::string metrics_doc() {
  std::ifstream in(AGNER_SOURCE_DIR "/docs/metrics.md");
  REQUIRE_MESSAGE(in, "cannot read " AGNER_SOURCE_DIR "/docs/metrics.md");
  std::stringstream all;
  all << in.rdbuf();
  return all.str();
}

/// The rows "| `name` | type | ..." of the doc's tables, as name -> type, grouped by table.
std::vector<std::map<std::string, std::string>> doc_tables(const std::string& doc) {
  std::vector<std::map<std::string, std::string>> tables;
  bool in_table = false;
  std::istringstream in(doc);
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with("| `")) {
      in_table = false;
      continue;
    }
    const auto name_end = line.find('`', 3);
    const auto type_start = line.find("| ", name_end);
    if (name_end == std::string::npos || type_start == std::string::npos) continue;
    const auto type_end = line.find(" |", type_start + 2);
    const std::string type = line.substr(type_start + 2, type_end - type_start - 2);
    if (type != "counter" && type != "gauge" && type != "histogram") continue;  // a table of bounds, not of families
    if (!in_table) tables.emplace_back();
    in_table = true;
    tables.back()[line.substr(3, name_end - 3)] = type;
  }
  return tables;
}

}  // namespace

TEST_CASE("every family of the exporter's metric table is in docs/metrics.md with its type, and back") {
  const auto tables = doc_tables(metrics_doc());
  const std::map<std::string, std::string>* runtime_table = nullptr;
  for (auto& t : tables)
    if (t.contains("agner_build_info")) runtime_table = &t;
  REQUIRE_MESSAGE(runtime_table, "docs/metrics.md has no table row for agner_build_info");
  std::set<std::string> served;
  for (const auto& f : exporter::node_families()) {
    served.insert(std::string(f.name));
    CHECK_FALSE(f.help.empty());
    auto row = runtime_table->find(std::string(f.name));
    CHECK_MESSAGE(row != runtime_table->end(), f.name, " is served but docs/metrics.md's runtime table lacks it");
    if (row != runtime_table->end())
      CHECK_MESSAGE(row->second == f.type, f.name, " is a ", f.type, " but docs/metrics.md says ", row->second);
  }
  for (auto& [name, type] : *runtime_table)
    CHECK_MESSAGE(served.contains(name), name, " is in docs/metrics.md but the exporter's table lacks it");
}

TEST_CASE("every agner_ family a scrape serves is named in docs/metrics.md, with its type where a table lists it") {
  const std::string doc = metrics_doc();
  std::map<std::string, std::string> rows;
  for (auto& t : doc_tables(doc)) rows.insert(t.begin(), t.end());
  runtime rt(test::two_schedulers());
  rt.spawn_fn([](context&, message&) {}, spawn_options{.name = "matcher"});
  auto o = test::loopback();
  o.processes = {"matcher"};
  exporter::exporter ex(rt, o);
  auto [code, body] = test::get(ex.port());
  REQUIRE(code == 200);
  int families = 0;
  std::istringstream in(body);
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with("# TYPE agner_")) continue;
    ++families;
    std::istringstream words(line.substr(7));
    std::string name, type;
    words >> name >> type;
    const bool named = doc.find("`" + name + "`") != std::string::npos || doc.find("`" + name + "{") != std::string::npos;
    CHECK_MESSAGE(named, name, " is served but docs/metrics.md never names it");
    if (auto row = rows.find(name); row != rows.end())
      CHECK_MESSAGE(row->second == type, name, " is served as a ", type, " but docs/metrics.md says ", row->second);
  }
  CHECK(families >= static_cast<int>(exporter::node_families().size()));
}
