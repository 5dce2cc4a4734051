#include "lines.hpp"

#include <fmt/format.h>

#include "agner/snapshot/json.hpp"

namespace matchstream {

first_line parse_first_line(std::string_view line) {
  std::string_view p[7];
  std::size_t n = 0, from = 0;
  for (;;) {  // at most 7 fields are looked at: a 7th means "too many"
    const auto at = line.find(':', from);
    p[n++] = line.substr(from, at == std::string_view::npos ? std::string_view::npos : at - from);
    if (at == std::string_view::npos || n == 7) break;
    from = at + 1;
  }
  first_line out;
  if (n >= 2 && p[0] == "VERSION" && p[1] != "1") {
    out.what = first_line::kind::unsupported_version;
    out.version = p[1];
  } else if (n == 6 && p[0] == "VERSION" && p[2] == "CONNECT" && !p[3].empty() && p[4] == "MATCH") {
    out.what = first_line::kind::connect;
    out.user = p[3];
    out.match = p[5];
  } else if (n == 4 && p[0] == "VERSION" && p[2] == "WATCH" && !p[3].empty()) {
    out.what = first_line::kind::watch;
    out.match = p[3];
  }
  return out;
}

watcher_line parse_watcher_line(std::string_view line) {
  watcher_line out;
  if (agner::introspect::nested_deeper_than(line, max_event_depth)) {
    out.error = fmt::format("the line nests arrays and objects deeper than {}", max_event_depth);
    return out;
  }
  out.event = nlohmann::json::parse(line, nullptr, false);
  if (out.event.is_discarded() || !out.event.is_object() || !out.event.contains("kind") || !out.event["kind"].is_string()) {
    out.event = nullptr;
    out.error = "each line must be a JSON object with a \"kind\"";
  }
  return out;
}

}  // namespace matchstream
