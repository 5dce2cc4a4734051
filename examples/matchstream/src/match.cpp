#include "match.hpp"

#include <chrono>
#include <algorithm>
#include <ctime>
#include <set>
#include <stdexcept>

#include <fmt/format.h>

namespace matchstream {

using json = nlohmann::json;

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {

/// Length of the valid UTF-8 sequence at `t[i]`, or 0 if it is not one (overlongs, surrogates,
/// past U+10FFFF and truncations are not).
std::size_t utf8_length(std::string_view t, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(t[i + k]); };
  const unsigned char c = b(0);
  std::size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
  if (n == 0 || i + n > t.size()) return 0;
  for (std::size_t k = 1; k < n; ++k)
    if ((b(k) & 0xC0) != 0x80) return 0;
  if (n == 2 && c < 0xC2) return 0;                                  // overlong
  if (n == 3 && c == 0xE0 && b(1) < 0xA0) return 0;                 // overlong
  if (n == 3 && c == 0xED && b(1) >= 0xA0) return 0;                // surrogate
  if (n == 4 && ((c == 0xF0 && b(1) < 0x90) || c > 0xF4 || (c == 0xF4 && b(1) >= 0x90))) return 0;
  return n;
}

/// A control character: C0, DEL, or C1 (U+0080..U+009F, 0xC2 0x80..0x9F in UTF-8).
bool control_at(std::string_view t, std::size_t i, std::size_t n) {
  const auto c = static_cast<unsigned char>(t[i]);
  if (n == 1) return c < 0x20 || c == 0x7F;
  return n == 2 && c == 0xC2 && static_cast<unsigned char>(t[i + 1]) < 0xA0;
}

/// Erlang's text/1: how a JSON value is shown.
std::string text(const json& v) {
  switch (v.type()) {
    case json::value_t::string: return v.get<std::string>();
    case json::value_t::number_integer: return std::to_string(v.get<long long>());
    case json::value_t::number_unsigned: return std::to_string(v.get<unsigned long long>());
    case json::value_t::number_float: {  // shortest round trip, as float_to_binary(F, [short]): 2.0, not 2
      std::string f = fmt::format("{}", v.get<double>());
      if (f.find_first_of(".en") == std::string::npos) f += ".0";
      return f;
    }
    case json::value_t::boolean: return v.get<bool>() ? "true" : "false";
    case json::value_t::null: return "null";
    default: return "?";
  }
}

std::string player(long long n, std::string_view name) { return fmt::format("{} ({})", name, n); }

std::map<long long, std::string> roster(const json& list) {
  std::map<long long, std::string> out;
  if (!list.is_array()) return out;
  for (const auto& p : list)
    if (p.is_array() && p.size() == 2 && p[0].is_number_integer()) out[p[0].get<long long>()] = text(p[1]);
  return out;
}

void head(std::string& out, std::string_view kind, std::int64_t seq, std::int64_t at_us) {
  std::time_t secs = static_cast<std::time_t>(at_us / 1'000'000);
  std::tm t{};
  gmtime_r(&secs, &t);
  fmt::format_to(std::back_inserter(out), "{:04}-{:02}-{:02} {:02}:{:02}:{:02}: {}:\n    seq: {}\n    at_us: {}\n",
                 t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, kind, seq, at_us);
}

void line(std::string& out, std::string_view key, std::string_view value) {
  out += "    ";
  out += key;
  out += ": ";
  out += value;
  out += '\n';
}

void list(std::string& out, std::string_view key, const std::map<long long, std::string>& players) {
  out += "    ";
  out += key;
  out += ":\n";
  for (const auto& [n, name] : players) {
    out += "         ";
    out += player(n, name);
    out += '\n';
  }
}

void status_fields(std::string& out, const match_status& s) {
  if (!s.started) return;
  line(out, "home", s.home);
  list(out, "home_players", s.home_players);
  line(out, "home_score", std::to_string(s.home_score));
  line(out, "visit", s.visit);
  list(out, "visit_players", s.visit_players);
  line(out, "visit_score", std::to_string(s.visit_score));
  line(out, "period", s.period);
}

/// Erlang's event_fields/2 and field/3.
void event_fields(std::string& out, const json& e, const match_status& s) {
  const std::string team = e.contains("team") ? text(e["team"]) : std::string();
  static const std::map<long long, std::string> none;
  const auto& r = s.started && team == s.home ? s.home_players : s.started && team == s.visit ? s.visit_players : none;
  for (const auto& [key, v] : e.items()) {  // nlohmann's object is a std::map: sorted by key bytes, as lists:sort
    if (key == "kind") continue;
    if (v.is_number_integer() && (key == "player" || key == "player_out")) {
      auto it = r.find(v.get<long long>());
      line(out, key, player(v.get<long long>(), it == r.end() ? "N/N" : it->second));
    } else if (v.is_array() && v.size() == 2 && v[0].is_number_integer()) {
      line(out, key, player(v[0].get<long long>(), text(v[1])));
    } else {
      line(out, key, text(v));
    }
  }
}

}  // namespace

std::string_view unrenderable(std::string_view t) {
  for (std::size_t i = 0; i < t.size();) {
    const auto n = utf8_length(t, i);
    if (n == 0) return "is not valid UTF-8";
    if (control_at(t, i, n)) return "contains a control character";
    i += n;
  }
  return {};
}

std::string escaped(std::string_view t, std::size_t cap) {
  std::string out;
  const std::size_t end = std::min(t.size(), cap);
  for (std::size_t i = 0; i < end;) {
    const auto n = utf8_length(t, i);
    if (n == 0 || control_at(t, i, n) || i + n > end) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(t[i]));
      ++i;
    } else {
      out.append(t.substr(i, n));
      i += n;
    }
  }
  if (t.size() > cap) out += "...";
  return out;
}

namespace {

bool player_number_ok(const json& n) {
  if (n.is_number_unsigned()) return n.get<unsigned long long>() <= static_cast<unsigned long long>(max_player_number);
  const auto v = n.get<long long>();
  return v >= 0 && v <= max_player_number;
}

/// Why a value rendered under `field` is refused, or "": its texts, and its player numbers (the
/// first of an [N, "Name"] pair, at any depth of arrays).
std::string check_value(const std::string& field, const json& v) {
  if (v.is_string()) {
    if (auto why = unrenderable(v.get_ref<const std::string&>()); !why.empty()) return fmt::format("{} {}", field, why);
  } else if (v.is_array()) {
    if (v.size() == 2 && v[0].is_number_integer() && !player_number_ok(v[0]))
      return fmt::format("{} has player number {} outside 0..{}", field, v[0].dump(), max_player_number);
    for (const auto& x : v)
      if (auto why = check_value(field, x); !why.empty()) return why;
  }
  return {};
}

/// Why an event may not be rendered, or "": see apply_event's contract.
std::string check_event(const json& e) {
  for (const auto& [key, v] : e.items()) {
    if (key.size() > max_key_bytes)
      return fmt::format("key {} is longer than {} bytes", escaped(key), max_key_bytes);
    if (auto why = unrenderable(key); !why.empty()) return fmt::format("key {} {}", escaped(key), why);
    if ((key == "player" || key == "player_out") && v.is_number_integer() && !player_number_ok(v))
      return fmt::format("{} {} is outside 0..{}", key, v.dump(), max_player_number);
    if (auto why = check_value(key, v); !why.empty()) return why;
  }
  return {};
}

/// A roster's sentence, or "": see start_error.
std::string check_roster(const std::string& field, const json& list) {
  if (!list.is_array()) return fmt::format("{} must be a list of [number, \"name\"] pairs", field);
  std::set<long long> numbers;
  for (const auto& p : list) {
    const bool ok = p.is_array() && p.size() == 2 && p[0].is_number_integer() && player_number_ok(p[0]) &&
                    p[1].is_string() && !p[1].get_ref<const std::string&>().empty() &&
                    p[1].get_ref<const std::string&>().size() <= max_name_bytes;
    if (!ok)
      return fmt::format("{} entry {} is not a [number 0..{}, \"name of 1 to {} bytes\"] pair", field,
                         escaped(p.dump(-1, ' ', false, json::error_handler_t::replace)), max_player_number,
                         max_name_bytes);
    if (!numbers.insert(p[0].get<long long>()).second)
      return fmt::format("{} lists number {} twice", field, p[0].get<long long>());
  }
  return {};
}

}  // namespace

std::string kind_error(const json& event) {
  const std::string& kind = event["kind"].get_ref<const std::string&>();
  if (kind.empty() || kind.size() > max_key_bytes) return "bad event kind";
  if (auto why = unrenderable(kind); !why.empty()) return fmt::format("kind {}", why);
  return {};
}

std::string start_error(const json& e) {
  for (const char* team : {"home", "visit"}) {
    const auto it = e.find(team);
    if (it == e.end() || !it->is_string() || it->get_ref<const std::string&>().empty() ||
        it->get_ref<const std::string&>().size() > max_name_bytes)
      return fmt::format("{} must be a team name of 1 to {} bytes", team, max_name_bytes);
  }
  if (e["home"] == e["visit"])
    return fmt::format("home and visit are the same team {}", escaped(e["home"].get_ref<const std::string&>()));
  for (const char* field : {"home_players", "visit_players"})
    if (const auto it = e.find(field); it != e.end())
      if (auto why = check_roster(field, *it); !why.empty()) return why;
  return {};
}

std::string render_status(const match_status& s, std::int64_t seq, std::int64_t at_us) {
  std::string out;
  out.reserve(512);
  head(out, "status", seq, at_us);
  status_fields(out, s);
  out += '\n';
  return out;
}

applied apply_event(match_status& s, const json& e, std::int64_t seq, std::int64_t at_us) {
  const std::string& kind = e["kind"].get_ref<const std::string&>();
  applied a;
  a.error = kind_error(e);
  if (a.error.empty()) a.error = check_event(e);
  if (a.error.empty() && kind == "start") a.error = start_error(e);
  if (!a.error.empty()) return a;
  a.block.reserve(256);
  head(a.block, kind, seq, at_us);
  if (kind == "start") {
    match_status n;
    n.started = true;
    n.home = e.contains("home") ? text(e["home"]) : "home";
    n.visit = e.contains("visit") ? text(e["visit"]) : "visit";
    n.home_players = roster(e.value("home_players", json::array()));
    n.visit_players = roster(e.value("visit_players", json::array()));
    n.period = "first";
    s = std::move(n);
    status_fields(a.block, s);
  } else {
    event_fields(a.block, e, s);
    if (kind == "goal" && s.started) {
      const std::string team = e.contains("team") ? text(e["team"]) : std::string();
      if (team == s.home) ++s.home_score;
      else if (team == s.visit) ++s.visit_score;
    } else if (kind == "period") {
      s.period = e.contains("period") ? text(e["period"]) : std::string();
    }
  }
  a.block += '\n';
  return a;
}

std::string to_json(const match_status& s) {
  auto players = [](const std::map<long long, std::string>& r) {
    json a = json::array();
    for (const auto& [n, name] : r) a.push_back(json::array({n, name}));
    return a;
  };
  return json{{"started", s.started}, {"home", s.home}, {"visit", s.visit},
              {"home_players", players(s.home_players)}, {"visit_players", players(s.visit_players)},
              {"home_score", s.home_score}, {"visit_score", s.visit_score}, {"period", s.period}}
      .dump();
}

namespace {
/// A score as stored: a whole number in int's range (a float past it would be undefined to convert).
int stored_score(const json& v) {
  if (!v.is_number_integer() || v < 0 || v > 1'000'000) throw json::type_error::create(302, "a score is not a whole number 0..1000000", nullptr);
  return v.get<int>();
}
}  // namespace

match_status status_from_json(std::string_view text_in) {
  try {
    auto j = json::parse(text_in);
    match_status s;
    s.started = j.at("started").get<bool>();
    s.home = j.at("home").get<std::string>();
    s.visit = j.at("visit").get<std::string>();
    s.home_players = roster(j.at("home_players"));
    s.visit_players = roster(j.at("visit_players"));
    s.home_score = stored_score(j.at("home_score"));
    s.visit_score = stored_score(j.at("visit_score"));
    s.period = j.at("period").get<std::string>();
    return s;
  } catch (const json::exception& e) {
    throw std::runtime_error(fmt::format("a stored match status is not one this program wrote: {}", e.what()));
  }
}

std::string_view block_kind(std::string_view block) {
  // "YYYY-MM-DD HH:MM:SS: kind:\n"
  if (block.size() < 22) return {};
  auto rest = block.substr(21);
  auto end = rest.find(":\n");
  return end == std::string_view::npos ? std::string_view{} : rest.substr(0, end);
}

}  // namespace matchstream
