#include "agner/alarms/rules_file.hpp"

#include <stdexcept>

#include <fmt/format.h>

#include "agner/alarms/metric_names.hpp"

namespace agner::alarms {

std::vector<priority_class> default_classes() { return {{"system", true, 0, 1}, {"normal", false, 0, 1}}; }

rules default_rules() {
  rules r;
  r.classes = default_classes();
  return r;
}

std::vector<std::string> error_lines(const std::vector<rule_error>& errors) {
  std::vector<std::string> out;
  for (auto& e : errors) out.push_back(e.text());
  return out;
}

std::vector<std::string> check_rules_file(const std::string& path) {
  auto r = load_rules(path);
  if (auto* errors = std::get_if<std::vector<rule_error>>(&r)) return error_lines(*errors);
  return {};
}

rules startup_rules(const std::string& path) {
  if (path.empty()) return default_rules();
  auto loaded = load_rules(path);
  if (auto* errors = std::get_if<std::vector<rule_error>>(&loaded)) {
    std::string text;
    for (auto& l : error_lines(*errors)) text += "\n  " + l;
    throw std::runtime_error(fmt::format("the rules file has errors:{}", text));
  }
  return std::get<rules>(std::move(loaded));
}

std::variant<rules, std::vector<std::string>> reload_rules(engine& e, const std::string& path,
                                                            const std::function<void(std::string_view)>& log,
                                                            std::int64_t now_ms) {
  auto loaded = load_rules(path);
  const std::string alarm(reload_failed_alarm);
  if (auto* errors = std::get_if<std::vector<rule_error>>(&loaded)) {
    auto lines = error_lines(*errors);
    // No count here: past max_rule_errors the last line says how many more there are.
    log("rules reload failed; the old rules stay in force:");
    for (auto& l : lines) log(fmt::format("  {}", l));
    e.set(alarm, severity::major, fmt::format("{} (old rules in force)", lines.front()), now_ms);
    return lines;
  }
  auto& fresh = std::get<rules>(loaded);
  e.reload(fresh);
  e.clear(alarm, now_ms);
  log(fmt::format("rules reloaded from {}", path));
  return std::move(fresh);
}

}  // namespace agner::alarms
