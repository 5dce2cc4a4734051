// Parsing and validating a rules file. A first pass bounds the nesting depth and the numbers; then
// nlohmann_json parses (its callback catches duplicate keys); a small scanner remembers where each
// value starts, so an error can name its line and column as well as its key path.
#include "agner/snapshot/visible_text.hpp"
#include "agner/alarms/rules.hpp"

#include <algorithm>
#include <tuple>
#include <cmath>
#include <cstdlib>
#include <set>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "agner/alarms/alertmanager_url.hpp"
#include "agner/alarms/bounded_file.hpp"
#include "agner/alarms/engine.hpp"
#include "agner/alarms/metric_names.hpp"
#include "agner/alarms/rules_file.hpp"
#include "agner/alarms/system_metrics.hpp"
#include "warning_rules.hpp"

namespace agner::alarms {

std::string_view to_string(severity s) {
  switch (s) {
    case severity::warning: return "warning";
    case severity::minor: return "minor";
    case severity::major: return "major";
    case severity::critical: return "critical";
  }
  return "warning";
}

std::optional<severity> parse_severity(std::string_view name) {
  for (auto v : {severity::warning, severity::minor, severity::major, severity::critical})
    if (to_string(v) == name) return v;
  return std::nullopt;
}

severity severity_named(std::string_view name) {
  if (auto s = parse_severity(name)) return *s;
  throw std::invalid_argument(fmt::format("unknown severity '{}' (critical, major, minor, warning)", name));
}

std::string rule_error::text() const {
  // The file name is the operator's, and may hold anything: shown visibly, as path and message are.
  const std::string shown = visible_text(file);
  if (line == 0 && path.empty()) return message.starts_with(shown) ? message : fmt::format("{}: {}", shown, message);  // the file as a whole
  if (path.empty()) return fmt::format("{}:{}:{}: {}", shown, line, column, message);  // the text, not a key: a syntax error, say
  return fmt::format("{}:{}:{}: {}: {}", shown, line, column, path, message);
}

namespace {

using nlohmann::json;

constexpr int max_rules_depth = 64;          // objects and arrays inside each other
constexpr std::size_t max_rule_errors = 20;  // listed; the rest are counted

/// The first pass, before nlohmann parses: where the text nests deeper than max_rules_depth or
/// holds a number outside double's range, with what is wrong. Iterative, O(size).
std::optional<std::pair<std::size_t, std::string>> prescan(std::string_view t) {
  int depth = 0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    const char c = t[i];
    if (c == '"') {
      for (++i; i < t.size() && t[i] != '"'; ++i)
        if (t[i] == '\\') ++i;
    } else if (c == '{' || c == '[') {
      if (++depth > max_rules_depth)
        return std::make_pair(i, fmt::format("nested deeper than {} levels of objects and arrays", max_rules_depth));
    } else if (c == '}' || c == ']') {
      --depth;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      std::size_t end = i;
      while (end < t.size() && std::string_view("0123456789+-.eE").find(t[end]) != std::string_view::npos) ++end;
      const std::string token(t.substr(i, std::min<std::size_t>(end - i, 400)));
      if (!std::isfinite(std::strtod(token.c_str(), nullptr)))
        return std::make_pair(i, fmt::format("the number {}{} is out of range", token.substr(0, 40), token.size() > 40 ? "..." : ""));
      i = end - 1;
    }
  }
  return std::nullopt;
}

/// Text from the file as an error line may show it: one line, no escape sequence (visible_text).
std::string printable(std::string_view text) { return visible_text(text); }

std::string escape_key(std::string_view key) {
  std::string out;
  for (char ch : key) {
    if (ch == '~') out += "~0";
    else if (ch == '/') out += "~1";
    else out.push_back(ch);
  }
  return out;
}

/// A SAX pass that notes the paths of duplicate keys (nlohmann keeps the last; a rules file must
/// not say one thing twice). Linear: nlohmann's parser callback scans the parent array at every
/// object end, quadratic on a long array of objects.
class duplicate_keys final : public nlohmann::json_sax<json> {
 public:
  std::vector<std::string> found;

  bool null() override { return element(); }
  bool boolean(bool) override { return element(); }
  bool number_integer(number_integer_t) override { return element(); }
  bool number_unsigned(number_unsigned_t) override { return element(); }
  bool number_float(number_float_t, const string_t&) override { return element(); }
  bool string(string_t&) override { return element(); }
  bool binary(binary_t&) override { return element(); }
  bool start_object(std::size_t) override {
    stack_.push_back({false, 0, {}, {}});
    return true;
  }
  bool key(string_t& k) override {
    auto& f = stack_.back();
    f.key = k;
    if (!f.keys.insert(k).second && found.size() <= max_rule_errors) found.push_back(here());
    return true;
  }
  bool end_object() override { return end(); }
  bool start_array(std::size_t) override {
    stack_.push_back({true, 0, {}, {}});
    return true;
  }
  bool end_array() override { return end(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

 private:
  struct frame {
    bool array = false;
    std::size_t index = 0;
    std::string key;
    std::set<std::string> keys;
  };
  std::vector<frame> stack_;
  bool element() {
    if (!stack_.empty() && stack_.back().array) ++stack_.back().index;
    return true;
  }
  bool end() {
    if (!stack_.empty()) stack_.pop_back();
    return element();
  }
  std::string here() const {
    std::string p;
    for (auto& f : stack_) {
      p += '/';
      p += f.array ? std::to_string(f.index) : escape_key(f.key);
    }
    return p;
  }
};

/// Parses `text` (already prescanned), noting the paths of duplicate keys. Throws what
/// json::parse throws.
json parse_noting_duplicates(std::string_view text, std::vector<std::string>& duplicates) {
  duplicate_keys sax;
  if (json::sax_parse(text, &sax)) duplicates = std::move(sax.found);
  return json::parse(text);
}

/// Where each value (by JSON pointer) starts in the text.
class positions {
 public:
  /// Maps the values at `wanted` paths and their ancestors (only those: the file may be large).
  positions(std::string_view text, const std::set<std::string>& wanted) : t_(text) {
    for (auto& w : wanted)
      for (std::string p = w;; p = p.substr(0, p.rfind('/'))) {
        wanted_.insert(p);
        if (p.empty()) break;
      }
    try {
      value("");
    } catch (...) {  // malformed: nlohmann reports it; keep what was mapped
    }
  }
  /// Where the value at `path` starts (or the key naming it, with `key`); the nearest mapped
  /// ancestor when the path is not in the text.
  std::size_t of(const std::string& path, bool key = false) const {
    if (key)
      if (auto it = keys_.find(path); it != keys_.end()) return it->second;
    for (std::string p = path;; p = p.substr(0, p.rfind('/'))) {
      if (auto it = at_.find(p); it != at_.end()) return it->second;
      if (p.empty()) return 0;
    }
  }

 private:
  void ws() {
    while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\n' || t_[i_] == '\r' || t_[i_] == '\t')) ++i_;
  }
  std::string string() {
    std::string s;
    ++i_;  // opening quote
    while (i_ < t_.size() && t_[i_] != '"') {
      if (t_[i_] == '\\') ++i_;
      if (i_ < t_.size()) s.push_back(t_[i_++]);
    }
    ++i_;
    return s;
  }
  static std::string escape(std::string key) {
    std::string out;
    for (char c : key) out += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
    return out;
  }
  void value(const std::string& path, int depth = 0) {
    ws();
    if (depth > max_rules_depth) throw 0;  // the first pass refuses such files: never recurse unboundedly
    if (wanted_.count(path)) at_[path] = i_;
    if (i_ >= t_.size()) throw 0;
    const char c = t_[i_];
    if (c == '{') {
      ++i_;
      ws();
      if (t_.at(i_) == '}') return void(++i_);
      for (;;) {
        ws();
        const std::size_t key_at = i_;
        const std::string key = escape(string());
        if (wanted_.count(path + "/" + key)) keys_[path + "/" + key] = key_at;
        ws();
        if (t_.at(i_++) != ':') throw 0;
        value(path + "/" + key, depth + 1);
        ws();
        if (t_.at(i_) == ',') {
          ++i_;
          continue;
        }
        if (t_.at(i_++) != '}') throw 0;
        return;
      }
    }
    if (c == '[') {
      ++i_;
      ws();
      if (t_.at(i_) == ']') return void(++i_);
      for (int n = 0;; ++n) {
        value(fmt::format("{}/{}", path, n), depth + 1);
        ws();
        if (t_.at(i_) == ',') {
          ++i_;
          continue;
        }
        if (t_.at(i_++) != ']') throw 0;
        return;
      }
    }
    if (c == '"') return void(string());
    while (i_ < t_.size() && std::string_view(",}] \n\r\t").find(t_[i_]) == std::string_view::npos) ++i_;
  }

  std::string_view t_;
  std::size_t i_ = 0;
  std::map<std::string, std::size_t> at_, keys_;
  std::set<std::string> wanted_;
};

std::pair<int, int> line_column(std::string_view text, std::size_t offset) {
  int line = 1, column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

/// Walks the document, collecting every problem with its path.
class checker {
 public:
  struct problem {
    std::string path, message;
    bool at_key = false;  // point at the key (an unknown key), not its value
  };
  std::vector<problem> problems;  // the first max_rule_errors
  std::size_t problem_count = 0;   // all of them

  void fail(const std::string& path, std::string message, bool at_key = false) {
    if (++problem_count <= max_rule_errors) problems.push_back({path, std::move(message), at_key});
  }

  /// Complains about keys not in `known` (a misspelt key would otherwise be ignored silently).
  void only(const json& obj, const std::string& path, std::initializer_list<std::string_view> known) {
    for (auto& [k, v] : obj.items())
      if (std::find(known.begin(), known.end(), k) == known.end()) {
        std::string list;
        for (auto name : known) list += (list.empty() ? "" : ", ") + std::string(name);
        fail(path + "/" + k, fmt::format("unknown key '{}' (known here: {})", k, list), true);
      }
  }
  const json* object(const json& parent, const std::string& key, const std::string& path, bool required) {
    if (!parent.contains(key)) {
      if (required) fail(path, fmt::format("'{}' is missing", key));
      return nullptr;
    }
    if (!parent[key].is_object()) {
      fail(path + "/" + key, "must be an object");
      return nullptr;
    }
    return &parent[key];
  }
  const json* array(const json& parent, const std::string& key, const std::string& path, bool required) {
    if (!parent.contains(key)) {
      if (required) fail(path, fmt::format("'{}' is missing", key));
      return nullptr;
    }
    if (!parent[key].is_array()) {
      fail(path + "/" + key, "must be an array");
      return nullptr;
    }
    return &parent[key];
  }
  double number(const json& parent, const std::string& key, const std::string& path, bool required, double fallback = 0) {
    if (!parent.contains(key)) {
      if (required) fail(path, fmt::format("'{}' is missing", key));
      return fallback;
    }
    if (!parent[key].is_number()) {
      fail(path + "/" + key, "must be a number");
      return fallback;
    }
    return parent[key].get<double>();
  }
  std::int64_t millis(const json& parent, const std::string& key, const std::string& path, std::int64_t fallback,
                      std::int64_t min = 0) {
    const double v = number(parent, key, path, false, static_cast<double>(fallback));
    if (!(v >= static_cast<double>(min) && v <= 86'400'000)) {
      fail(path + "/" + key, fmt::format("must be between {} and 86400000 (a day)", min));
      return fallback;
    }
    if (v != std::floor(v)) {
      fail(path + "/" + key, "must be a whole number of milliseconds");
      return fallback;
    }
    return static_cast<std::int64_t>(v);
  }
  std::string text(const json& parent, const std::string& key, const std::string& path, bool required) {
    if (!parent.contains(key)) {
      if (required) fail(path, fmt::format("'{}' is missing", key));
      return {};
    }
    if (!parent[key].is_string()) {
      fail(path + "/" + key, "must be a string");
      return {};
    }
    return parent[key].get<std::string>();
  }
  bool flag(const json& parent, const std::string& key, const std::string& path) {
    if (!parent.contains(key)) return false;
    if (!parent[key].is_boolean()) {
      fail(path + "/" + key, "must be true or false");
      return false;
    }
    return parent[key].get<bool>();
  }
};

bool valid_id(const std::string& id) {
  return !id.empty() && id.size() <= 64 &&
         id.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_.-") == std::string::npos;
}

alarm_rule parse_alarm(checker& c, const json& a, const std::string& p) {
  alarm_rule r;
  c.only(a, p, {"id", "metric", "labels", "direction", "levels", "for_ms", "hold_ms", "mean_over_ms", "pressure", "description"});
  r.id = c.text(a, "id", p, true);
  if (a.contains("id") && a["id"].is_string() && !valid_id(r.id)) c.fail(p + "/id", "must be 1-64 of a-z, 0-9, '_', '.', '-'");
  r.metric = c.text(a, "metric", p, true);
  if (a.contains("metric") && a["metric"].is_string() && r.metric.empty())
    c.fail(p + "/metric", "must not be empty (a system metric, business:NAME or a process: metric)");
  const metric_kind kind = kind_of(r.metric);
  if (r.metric == business_prefix) c.fail(p + "/metric", "names no business metric: write business:NAME");
  if (r.id == reload_failed_alarm) c.fail(p + "/id", fmt::format("'{}' is the node's own alarm: choose another id", reload_failed_alarm));
  const bool per_process = alarms::per_process(kind);
  if (!r.metric.empty() && kind == metric_kind::unknown) {
    std::string list;
    for (auto& m : system_metrics()) list += (list.empty() ? "" : ", ") + std::string(m.name);
    c.fail(p + "/metric", fmt::format("unknown metric '{}' (system metrics: {}; or business:NAME; or {}, {})", r.metric, list,
                                      queue_len_metric, oldest_message_age_metric));
  }
  if (auto* l = c.object(a, "labels", p, false))
    for (auto& [k, v] : l->items()) {
      if (!v.is_string()) c.fail(p + "/labels/" + k, "must be a string");
      else r.labels[k] = v.get<std::string>();
    }
  const std::string direction = a.contains("direction") ? c.text(a, "direction", p, false) : "above";
  if (direction != "above" && direction != "below") c.fail(p + "/direction", "must be \"above\" or \"below\"");
  r.above = direction != "below";
  r.for_ms = c.millis(a, "for_ms", p, 0);
  r.hold_ms = c.millis(a, "hold_ms", p, 0);
  r.mean_over_ms = c.millis(a, "mean_over_ms", p, 0);
  if (a.contains("mean_over_ms") && kind != metric_kind::business)
    c.fail(p + "/mean_over_ms", "applies to a business histogram only (metric business:NAME)");
  else if (a.contains("mean_over_ms") && (r.mean_over_ms < 1000 || r.mean_over_ms > 600000))
    c.fail(p + "/mean_over_ms", fmt::format("must be between 1000 and 600000 (ms), not {}", r.mean_over_ms));
  r.description = c.text(a, "description", p, false);
  if (const json* levels = c.array(a, "levels", p, true)) {
    if (levels->empty()) c.fail(p + "/levels", "needs at least one level");
    for (std::size_t i = 0; i < levels->size(); ++i) {
      const std::string lp = fmt::format("{}/levels/{}", p, i);
      const json& l = (*levels)[i];
      if (!l.is_object()) {
        c.fail(lp, "must be an object");
        continue;
      }
      c.only(l, lp, {"severity", "raise", "clear"});
      level lv;
      const std::string sev = c.text(l, "severity", lp, true);
      if (auto s = parse_severity(sev)) {
        lv.sev = *s;
      } else if (l.contains("severity")) {
        c.fail(lp + "/severity", fmt::format("unknown severity '{}' (critical, major, minor, warning)", sev));
      }
      lv.raise = c.number(l, "raise", lp, true);
      lv.clear = c.number(l, "clear", lp, false, lv.raise);
      if (r.above ? lv.clear > lv.raise : lv.clear < lv.raise)
        c.fail(lp + "/clear", fmt::format("must be {} raise ({}) for an alarm {} its threshold", r.above ? "at most" : "at least",
                                          lv.raise, direction));
      if (!r.levels.empty()) {
        const auto& prev = r.levels.back();
        if (lv.sev <= prev.sev) c.fail(lp + "/severity", "levels must go up in severity");
        if (r.above ? lv.raise <= prev.raise : lv.raise >= prev.raise)
          c.fail(lp + "/raise", fmt::format("must be {} than the previous level's raise ({})", r.above ? "higher" : "lower", prev.raise));
      }
      r.levels.push_back(lv);
    }
  }
  if (per_process && (r.levels.size() > 1 || !r.above))
    c.fail(p + "/levels", "a per-process alarm has one level, above its threshold");
  if (per_process && !r.levels.empty()) {  // the runtime's queue watch keeps them as 32-bit counts
    const auto& l = r.levels.front();
    const char* which = l.raise < 0 || l.raise > 4294967295.0 ? "raise" : l.clear < 0 || l.clear > 4294967295.0 ? "clear" : nullptr;
    if (which)
      c.fail(fmt::format("{}/levels/0/{}", p, which),
             fmt::format("a per-process threshold must be between 0 and 4294967295 (the runtime keeps it in 32 bits), not {}",
                         std::string(which) == "raise" ? l.raise : l.clear));
  }
  if (const json* pr = c.object(a, "pressure", p, false)) {
    const std::string pp = p + "/pressure";
    c.only(*pr, pp, {"scaling", "saturation", "min_when_firing"});
    r.scaling = c.number(*pr, "scaling", pp, true);
    r.saturation = c.number(*pr, "saturation", pp, true);
    r.min_pressure = c.number(*pr, "min_when_firing", pp, false);
    if (r.above ? r.scaling >= r.saturation : r.scaling <= r.saturation)
      c.fail(pp + "/saturation", fmt::format("scaling ({}) must be {} than saturation ({})", r.scaling, r.above ? "less" : "more", r.saturation));
    if (r.min_pressure < 0 || r.min_pressure > 1) c.fail(pp + "/min_when_firing", "must be between 0 and 1");
  }
  return r;
}

std::variant<rules, std::vector<rule_error>> check_document(const json& doc, const std::vector<std::string>& duplicates,
                                                             std::string_view text, const std::string& file);

}  // namespace

std::variant<rules, std::vector<rule_error>> parse_rules(std::string_view text, const std::string& file) {
  std::vector<rule_error> errors;
  if (auto bad = prescan(text)) {
    auto [line, column] = line_column(text, bad->first);
    errors.push_back({file, line, column, "", bad->second});
    return errors;
  }
  json doc;
  std::vector<std::string> duplicates;
  try {
    doc = parse_noting_duplicates(text, duplicates);
  } catch (const json::parse_error& e) {
    auto [line, column] = line_column(text, e.byte ? e.byte - 1 : 0);
    std::string what = e.what();
    if (auto at = what.find("syntax error"); at != std::string::npos) what = what.substr(at);
    errors.push_back({file, line, column, "", printable(fmt::format("not valid JSON: {}", what))});
    return errors;
  } catch (const json::exception& e) {  // out_of_range and the like: the prescan should have caught them
    std::string what = e.what();
    if (auto at = what.find("] "); at != std::string::npos) what = what.substr(at + 2);
    errors.push_back({file, 1, 1, "", printable(fmt::format("not valid JSON: {}", what))});
    return errors;
  }
  try {
    return check_document(doc, duplicates, text, file);
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {  // a check that missed a type: an error, never a crash
    std::string what = e.what();
    if (auto at = what.find("] "); at != std::string::npos) what = what.substr(at + 2);
    errors.push_back({file, 1, 1, "", printable(fmt::format("cannot check the rules: {}", what))});
    return errors;
  }
}

namespace {

std::variant<rules, std::vector<rule_error>> check_document(const json& doc, const std::vector<std::string>& duplicates,
                                                             std::string_view text, const std::string& file) {
  std::vector<rule_error> errors;
  checker c;
  rules r;
  if (!doc.is_object()) {
    c.fail("", "the rules must be a JSON object");
  } else {
    c.only(doc, "", {"version", "tick_ms", "history_size", "classes", "alarms", "valves", "notify", "warnings"});
    if (doc.contains("warnings"))
      parse_warning_rules(doc["warnings"], "/warnings", [&c](const std::string& p, std::string m, bool k) { c.fail(p, std::move(m), k); },
                          r.warnings);
    if (const json* notify = c.object(doc, "notify", "", false)) {
      c.only(*notify, "/notify", {"alertmanager"});
      if (const json* am = c.object(*notify, "alertmanager", "/notify", false)) {
        const std::string p = "/notify/alertmanager";
        c.only(*am, p, {"url", "resend_ms", "labels"});
        alertmanager_rule a;
        a.url = c.text(*am, "url", p, true);
        if (am->contains("url") && (*am)["url"].is_string()) {
          const auto parsed = parse_alertmanager_url(a.url);
          if (auto* why = std::get_if<std::string>(&parsed)) c.fail(p + "/url", *why);
        }
        a.resend_ms = c.millis(*am, "resend_ms", p, 60000);
        if (a.resend_ms < 1000) c.fail(p + "/resend_ms", "must be at least 1000");
        if (const json* l = c.object(*am, "labels", p, false))
          for (auto& [k, v] : l->items()) {
            if (!v.is_string()) c.fail(p + "/labels/" + k, "must be a string");
            else a.labels[k] = v.get<std::string>();
          }
        r.alertmanager = std::move(a);
      }
    }
    if (c.number(doc, "version", "", true, 1) != 1) c.fail("/version", "must be 1");
    r.tick_ms = c.millis(doc, "tick_ms", "", 250, 10);
    const double hist = c.number(doc, "history_size", "", false, 1000);
    if (!(hist >= 1 && hist <= 100000)) c.fail("/history_size", "must be between 1 and 100000");
    else r.history_size = static_cast<std::size_t>(hist);
    std::set<std::string> ids;
    if (const json* alarms = c.array(doc, "alarms", "", false))
      for (std::size_t i = 0; i < alarms->size(); ++i) {
        const std::string p = fmt::format("/alarms/{}", i);
        if (!(*alarms)[i].is_object()) {
          c.fail(p, "must be an object");
          continue;
        }
        auto a = parse_alarm(c, (*alarms)[i], p);
        if (!a.id.empty() && !ids.insert(a.id).second) c.fail(p + "/id", fmt::format("alarm id '{}' is used twice", a.id));
        r.alarms.push_back(std::move(a));
      }
    if (const json* classes = c.array(doc, "classes", "", false)) {
      for (std::size_t i = 0; i < classes->size(); ++i) {
        const std::string p = fmt::format("/classes/{}", i);
        const json& k = (*classes)[i];
        if (!k.is_object()) {
          c.fail(p, "must be an object");
          continue;
        }
        c.only(k, p, {"name", "never_shed", "band"});
        priority_class pc;
        pc.name = c.text(k, "name", p, true);
        if (k.contains("name") && k["name"].is_string() && pc.name.empty()) c.fail(p + "/name", "must not be empty");
        pc.never_shed = c.flag(k, "never_shed", p);
        if (const json* band = c.array(k, "band", p, !pc.never_shed)) {
          if (band->size() != 2 || !(*band)[0].is_number() || !(*band)[1].is_number()) {
            c.fail(p + "/band", "must be [start, full]: two numbers");
          } else {
            pc.start = (*band)[0].get<double>();
            pc.full = (*band)[1].get<double>();
            if (pc.start < 0 || pc.full > 1 || pc.start >= pc.full) c.fail(p + "/band", "needs 0 <= start < full <= 1");
          }
        }
        if (std::any_of(r.classes.begin(), r.classes.end(), [&](auto& o) { return o.name == pc.name; }))
          c.fail(p + "/name", fmt::format("class '{}' is declared twice", pc.name));
        r.classes.push_back(std::move(pc));
      }
    }
    const bool declares_system = std::any_of(r.classes.begin(), r.classes.end(), [](auto& k) { return k.name == "system"; });
    const std::size_t room = valve::max_classes - (declares_system ? 0 : 1);
    if (r.classes.size() > room)
      c.fail(fmt::format("/classes/{}", room), fmt::format("too many classes: at most {}, the system class included ({})", valve::max_classes,
                                                           declares_system ? "declared here" : "added when not declared"));
    if (r.classes.empty()) r.classes = default_classes();
    if (std::none_of(r.classes.begin(), r.classes.end(), [](auto& k) { return k.name == "system"; }))
      r.classes.insert(r.classes.begin(), {"system", true, 0, 1});  // replies and supervision are never shed
    std::set<std::string> valve_ids;
    if (const json* valves = c.array(doc, "valves", "", false))
      for (std::size_t i = 0; i < valves->size(); ++i) {
        const std::string p = fmt::format("/valves/{}", i);
        const json& v = (*valves)[i];
        if (!v.is_object()) {
          c.fail(p, "must be an object");
          continue;
        }
        c.only(v, p, {"id", "triggers", "release_ms", "mode"});
        valve_rule vr;
        vr.id = c.text(v, "id", p, true);
        if (v.contains("id") && v["id"].is_string() && !valid_id(vr.id)) c.fail(p + "/id", "must be 1-64 of a-z, 0-9, '_', '.', '-'");
        if (!vr.id.empty() && !valve_ids.insert(vr.id).second) c.fail(p + "/id", fmt::format("valve id '{}' is used twice", vr.id));
        if (const json* triggers = c.array(v, "triggers", p, true))
          for (std::size_t t = 0; t < triggers->size(); ++t) {
            const std::string tp = fmt::format("{}/triggers/{}", p, t);
            if (!(*triggers)[t].is_string()) {
              c.fail(tp, "must be an alarm id");
              continue;
            }
            const std::string id = (*triggers)[t].get<std::string>();
            if (!ids.count(id)) c.fail(tp, fmt::format("no alarm has id '{}'", id));
            vr.triggers.push_back(id);
          }
        vr.release_ms = c.millis(v, "release_ms", p, 3000);
        const std::string mode = v.contains("mode") ? c.text(v, "mode", p, false) : "enforce";
        if (mode != "enforce" && mode != "shadow") c.fail(p + "/mode", "must be \"enforce\" or \"shadow\"");
        vr.shadow = mode == "shadow";
        r.valves.push_back(std::move(vr));
      }
  }
  for (auto& d : duplicates) c.fail(d, "this key is given twice (the first would be silently ignored)", true);
  if (c.problems.empty()) return r;
  std::set<std::string> wanted;
  for (auto& p : c.problems) wanted.insert(p.path);
  positions where(text, wanted);
  const std::size_t listed = c.problems.size();
  for (std::size_t i = 0; i < listed; ++i) {
    auto& p = c.problems[i];
    auto [line, column] = line_column(text, where.of(p.path, p.at_key));
    errors.push_back({file, line, column, printable(p.path), printable(p.message)});
  }
  // In file order, as a reader goes through the file (the checks find them by kind).
  std::stable_sort(errors.begin(), errors.end(),
                   [](const rule_error& a, const rule_error& b) { return std::tie(a.line, a.column) < std::tie(b.line, b.column); });
  if (c.problem_count > listed)
    errors.push_back({file, 0, 0, "", fmt::format("and {} more error{}", c.problem_count - listed, c.problem_count - listed == 1 ? "" : "s")});
  return errors;
}

}  // namespace

std::variant<rules, std::vector<rule_error>> load_rules(const std::string& path) {
  auto file = read_bounded_file(path, max_rules_bytes);
  if (!file.text) return std::vector<rule_error>{{path, 0, 0, "", printable(file.error)}};
  return parse_rules(*file.text, path);
}

}  // namespace agner::alarms
