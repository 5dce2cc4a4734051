#pragma once
// The JSON side of reading a rules file (rules.cpp does the rules): a first pass that bounds nesting
// and numbers, a parse that notes duplicate keys, where each value starts in the text, and the
// checker that collects located problems. Internal to agner::alarms; pure, thread-compatible.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "agner/snapshot/visible_text.hpp"

namespace agner::alarms::detail {

using nlohmann::json;

inline constexpr int max_rules_depth = 64;          // objects and arrays inside each other
inline constexpr std::size_t max_rule_errors = 20;  // listed; the rest are counted

/// The first pass, before nlohmann parses: where the text nests deeper than max_rules_depth or
/// holds a number outside double's range, with what is wrong. Iterative, O(size).
std::optional<std::pair<std::size_t, std::string>> prescan(std::string_view t);

/// Text from the file as an error line may show it: one line, no escape sequence (visible_text).
inline std::string printable(std::string_view text) { return visible_text(text); }

/// Parses `text` (already prescanned), noting the paths of duplicate keys. Throws what
/// json::parse throws.
json parse_noting_duplicates(std::string_view text, std::vector<std::string>& duplicates);

/// Where each value (by JSON pointer) starts in the text.
class positions {
 public:
  /// Maps the values at `wanted` paths and their ancestors (only those: the file may be large).
  positions(std::string_view text, const std::set<std::string>& wanted);
  /// Where the value at `path` starts (or the key naming it, with `key`); the nearest mapped
  /// ancestor when the path is not in the text.
  std::size_t of(const std::string& path, bool key = false) const;

 private:
  void ws();
  std::string string();
  static std::string escape(std::string key);
  void value(const std::string& path, int depth = 0);

  std::string_view t_;
  std::size_t i_ = 0;
  std::map<std::string, std::size_t> at_, keys_;
  std::set<std::string> wanted_;
};

/// The 1-based line and column of byte `offset` of `text`. O(offset).
std::pair<int, int> line_column(std::string_view text, std::size_t offset);

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

}  // namespace agner::alarms::detail
