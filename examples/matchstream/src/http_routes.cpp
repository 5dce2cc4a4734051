// The HTTP API's routes and JSON bodies (http_routes.hpp).
#include "http_routes.hpp"

#include <nlohmann/json.hpp>

namespace matchstream {
namespace {

using json = nlohmann::ordered_json;  // keys in the order written: id first, as people read it

constexpr std::size_t max_events = 1000;

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    const int high = hex_digit(text[i + 1]), low = hex_digit(text[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return out;
}

json summary_json(const match_summary& s) {
  return json{{"id", s.id},       {"home", s.home},   {"visit", s.visit},
              {"home_score", s.home_score}, {"visit_score", s.visit_score}, {"period", s.period},
              {"seq", s.seq},     {"subscribers", s.subscribers}, {"ended", s.ended}};
}

// Stored text is JSON written by the match process; should it not parse, it is served as a string.
json parsed(const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return json(text);
  return j;
}

// A match the store knows but the board does not (ended, or from before a restart): its summary as far
// as the stored status tells it.
match_summary summary_of(const stored_match& m, const json& status) {
  match_summary s;
  s.id = m.id;
  s.seq = m.seq;
  s.ended = m.ended;
  if (!status.is_object()) return s;
  const auto text = [&](const char* key, std::string& out) {
    if (auto it = status.find(key); it != status.end() && it->is_string()) out = it->get<std::string>();
  };
  const auto number = [&](const char* key, int& out) {
    if (auto it = status.find(key); it != status.end() && it->is_number_integer() && *it >= 0 && *it <= 1'000'000) out = it->get<int>();
  };
  text("home", s.home);
  text("visit", s.visit);
  text("period", s.period);
  number("home_score", s.home_score);
  number("visit_score", s.visit_score);
  return s;
}

}  // namespace

api_route route_of(std::string_view path) {
  constexpr std::string_view base = "/matches";
  if (path == base || path == "/matches/") return {api_route::list, {}};
  if (path.substr(0, base.size() + 1) != "/matches/") return {api_route::unknown, {}};
  const auto raw = path.substr(base.size() + 1);
  auto id = percent_decode(raw);
  if (!id) return {api_route::bad_id, std::string(raw)};
  return {api_route::one, std::move(*id)};
}

std::string error_json(const std::string& message) { return dump(json{{"error", message}}); }

std::string list_json(const board& live) {
  json out = json::array();
  for (const auto& s : live.list()) out.push_back(summary_json(s));
  return dump(out);
}

std::optional<std::string> match_json(const board& live, database& db, const std::string& id) {
  const auto now = live.get(id);
  const auto stored = db.match(id);
  if (!now && !stored) return std::nullopt;
  const json status = stored ? parsed(stored->status_json) : json(nullptr);
  json out = summary_json(now ? *now : summary_of(*stored, status));
  out["status"] = status;
  json events = json::array();
  if (stored) {
    for (const auto& e : db.events(id, max_events))
      events.push_back(json{{"seq", e.seq}, {"kind", e.kind}, {"at_us", e.at_us}, {"fields", parsed(e.fields_json)}});
  }
  out["events"] = std::move(events);
  return dump(out);
}

}  // namespace matchstream
