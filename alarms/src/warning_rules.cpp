#include "warning_rules.hpp"

#include <cmath>
#include <cstdint>

#include <fmt/format.h>

namespace agner::alarms {
namespace {

struct key_range {
  const char* key;
  double lo, hi;
  const char* unit;  // for the sentence
};

// docs/warnings.md, "Thresholds": keep the two in step.
constexpr key_range ranges[] = {
    {"sample_ms", 100, 60000, "ms"},
    {"candidates", 1, 1000, "processes"},
    {"queue_growth_samples", 2, 100, "samples"},
    {"queue_growth_min", 0, 4294967295.0, "messages"},
    {"old_message_ms", 1, 86400000, "ms"},
    {"long_handler_ms", 100, 3600000, "ms"},
    {"long_handler_keep_ms", 0, 86400000, "ms"},
    {"restart_intensity_percent", 1, 100, "percent"},
    {"memory_growth_collections", 2, 100, "collections"},
    {"memory_growth_min_bytes", 0, 1099511627776.0, "bytes"},
};

}  // namespace

void parse_warning_rules(const nlohmann::json& section, const std::string& path, const warning_rule_fail& fail,
                         introspect::warning_thresholds& out) {
  if (!section.is_object()) return fail(path, "must be an object of thresholds (docs/warnings.md)", false);
  for (auto& [key, value] : section.items()) {
    const key_range* r = nullptr;
    for (auto& k : ranges)
      if (key == k.key) r = &k;
    const std::string at = path + "/" + key;
    if (!r) {
      std::string list;
      for (auto& k : ranges) list += (list.empty() ? "" : ", ") + std::string(k.key);
      fail(at, fmt::format("unknown key '{}' (known here: {})", key, list), true);
      continue;
    }
    const double v = value.is_number() ? value.get<double>() : NAN;
    if (!value.is_number() || v != std::floor(v) || v < r->lo || v > r->hi) {
      fail(at, fmt::format("must be a whole number from {} to {} ({}){}", static_cast<std::uint64_t>(r->lo),
                           static_cast<std::uint64_t>(r->hi), r->unit,
                           value.is_number() ? fmt::format(", not {}", value.dump()) : std::string()),
           false);
      continue;
    }
    const auto whole = static_cast<std::uint64_t>(v);
    const std::string_view k = key;
    if (k == "sample_ms") out.sample_ms = static_cast<std::uint32_t>(whole);
    else if (k == "candidates") out.candidates = static_cast<std::uint32_t>(whole);
    else if (k == "queue_growth_samples") out.queue_growth_samples = static_cast<std::uint32_t>(whole);
    else if (k == "queue_growth_min") out.queue_growth_min = whole;
    else if (k == "old_message_ms") out.old_message_ms = whole;
    else if (k == "long_handler_ms") out.long_handler_ms = whole;
    else if (k == "long_handler_keep_ms") out.long_handler_keep_ms = whole;
    else if (k == "restart_intensity_percent") out.restart_intensity_percent = static_cast<std::uint32_t>(whole);
    else if (k == "memory_growth_collections") out.memory_growth_collections = static_cast<std::uint32_t>(whole);
    else if (k == "memory_growth_min_bytes") out.memory_growth_min_bytes = whole;
  }
}

}  // namespace agner::alarms
