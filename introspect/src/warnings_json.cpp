// Warning rows as JSON (docs/protocol.md, `warnings`).
#include <fmt/format.h>

#include "agner/introspect/warning_rows.hpp"

namespace agner::introspect {
namespace {

using nlohmann::json;

std::uint64_t whole(const json& j) {  // integers only: a float past range would be undefined to convert
  if (!j.is_number_unsigned() && !j.is_number_integer()) (void)j.get_ref<const json::number_unsigned_t&>();  // throws
  return j.get<std::uint64_t>();
}

}  // namespace

json to_json(const warning_row& w) {
  json j{{"kind", w.kind},
         {"pid", fmt::format("{}", w.id)},
         {"name", w.name},
         {"message", w.message},
         {"value", w.value},
         {"threshold", w.threshold},
         {"since_ms", w.since_ms}};
  if (!w.handler.empty()) j["handler"] = w.handler;
  return j;
}

warning_row warning_row_from_json(const json& j) {
  warning_row w;
  w.kind = j.at("kind").get<std::string>();
  auto p = parse_pid(j.at("pid").get<std::string>());
  if (!p) throw json::type_error::create(302, fmt::format("warning pid '{}' is not a pid", j.at("pid").get<std::string>()), &j);
  w.id = *p;
  w.name = j.at("name").get<std::string>();
  w.message = j.at("message").get<std::string>();
  w.value = whole(j.at("value"));
  w.threshold = whole(j.at("threshold"));
  w.since_ms = whole(j.at("since_ms"));
  w.handler = j.value("handler", std::string());
  return w;
}

}  // namespace agner::introspect
