// Parsing and validating a rules file: rules_json.hpp bounds the nesting depth and the numbers,
// parses (noting duplicate keys) and remembers where each value starts, so an error can name its
// line and column as well as its key path; this file checks what the rules say.
#include "agner/alarms/rules.hpp"

#include <cmath>
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
#include "agner/snapshot/visible_text.hpp"
#include "rules_json.hpp"
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

using namespace detail;

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
  if (r.metric == business_prefix) {
    c.fail(p + "/metric", "names no business metric: write business:NAME");
  } else if (kind == metric_kind::business) {
    const std::string_view name = std::string_view(r.metric).substr(business_prefix.size());
    const bool ok = name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:") ==
                        std::string_view::npos && !(name[0] >= '0' && name[0] <= '9');
    if (!ok) c.fail(p + "/metric", fmt::format("'{}' is not a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)", name));
  }
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
