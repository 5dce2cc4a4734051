#include "lines.hpp"

#include <set>
#include <vector>

#include <fmt/format.h>

#include "agner/snapshot/json.hpp"
#include "match.hpp"

namespace matchstream {

std::string match_id_error(std::string_view id) {
  bool ok = !id.empty() && id.size() <= max_match_id_bytes;
  for (std::size_t i = 0; ok && i < id.size(); ++i) {
    const char c = id[i];
    ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
  }
  if (ok && id.find_first_not_of('.') == std::string_view::npos)
    return fmt::format("match id \"{}\" is all dots (a URL cannot name it)", escaped(id));
  if (ok) return {};
  return fmt::format("match id \"{}\" is not 1 to {} bytes of A-Z a-z 0-9 _ . -", escaped(id), max_match_id_bytes);
}

std::string user_error(std::string_view user) {
  if (user.size() <= max_user_bytes && unrenderable(user).empty()) return {};
  return fmt::format("user \"{}\" is not 1 to {} bytes of UTF-8 without control characters", escaped(user), max_user_bytes);
}

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
  } else if (n >= 3 && p[0] == "VERSION" && p[1] == "1" && p[2] == "WATCH") {
    out.what = first_line::kind::bad_watch;
  }
  if ((out.what == first_line::kind::connect || out.what == first_line::kind::watch) && !match_id_error(out.match).empty())
    out.what = first_line::kind::bad_match_id;
  else if (out.what == first_line::kind::connect && !user_error(out.user).empty())
    out.what = first_line::kind::bad_user;
  return out;
}

namespace {

/// What the parser says after "syntax error while parsing X - ", up to "; last read" (which echoes
/// the input: the byte offset names the place instead).
std::string parser_reason(std::string_view what) {
  auto from = what.find(" - ");
  from = from == std::string_view::npos ? 0 : from + 3;
  auto to = what.find("; last read", from);
  return escaped(what.substr(from, to == std::string_view::npos ? std::string_view::npos : to - from), 160);
}

/// The number's text from "number overflow parsing '1e400'".
std::string overflowing_number(std::string_view what) {
  const auto from = what.find('\'');
  const auto to = what.rfind('\'');
  if (from == std::string_view::npos || to <= from) return "?";
  return escaped(what.substr(from + 1, to - from - 1));
}

}  // namespace

watcher_line parse_watcher_line(std::string_view line) {
  watcher_line out;
  if (agner::introspect::nested_deeper_than(line, max_event_depth)) {
    out.error = fmt::format("the line nests arrays and objects deeper than {}", max_event_depth);
    return out;
  }
  // The parser takes a NUL byte for the end of its input (and would ignore what follows it); in
  // JSON a NUL is never valid, not even in a string.
  if (const auto nul = line.find('\0'); nul != std::string_view::npos) {
    out.error = fmt::format("invalid JSON at byte {}: a NUL byte", nul + 1);
    return out;
  }
  // One set of keys per object open (at most max_event_depth): the first key seen twice is named.
  std::vector<std::set<std::string>> keys;
  std::string duplicate;
  bool has_duplicate = false;
  auto on = [&](int, nlohmann::json::parse_event_t e, nlohmann::json& parsed) {
    using ev = nlohmann::json::parse_event_t;
    if (e == ev::object_start) {
      keys.emplace_back();
    } else if (e == ev::object_end) {
      if (!keys.empty()) keys.pop_back();
    } else if (e == ev::key && !keys.empty() && !has_duplicate && parsed.is_string()) {
      if (!keys.back().insert(parsed.get<std::string>()).second) {
        has_duplicate = true;
        duplicate = parsed.get<std::string>();
      }
    }
    return true;
  };
  try {
    out.event = nlohmann::json::parse(line, on);
  } catch (const nlohmann::json::parse_error& e) {
    out.error = fmt::format("invalid JSON at byte {}: {}", e.byte, parser_reason(e.what()));
  } catch (const nlohmann::json::out_of_range& e) {
    out.error = fmt::format("number {} is out of range", overflowing_number(e.what()));
  } catch (const nlohmann::json::exception& e) {
    out.error = fmt::format("invalid JSON: {}", parser_reason(e.what()));
  }
  if (out.error.empty() && has_duplicate) out.error = fmt::format("key {} appears more than once", escaped(duplicate));
  if (out.error.empty() &&
      (!out.event.is_object() || !out.event.contains("kind") || !out.event["kind"].is_string()))
    out.error = "each line must be a JSON object with a \"kind\"";
  if (!out.error.empty()) out.event = nullptr;
  return out;
}

}  // namespace matchstream
