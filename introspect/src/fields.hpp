#pragma once
// Reading a request's fields: each one checked for type and documented range, refused (never
// clamped) with a request_error naming the field and the range. Cost: a map lookup per field.
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "request_error.hpp"

namespace agner::introspect::fields {

/// The integer field `name` in [lo, hi], `fallback` when absent. Throws request_error (bad_request)
/// when it is not an integer or is out of range.
std::int64_t integer(const nlohmann::json& req, const char* name, std::int64_t lo, std::int64_t hi,
                     std::int64_t fallback);

/// The string field `name`, at most `max_chars` bytes and at least `min_chars`, `fallback` when
/// absent. Throws request_error (bad_request) naming the field otherwise.
std::string text(const nlohmann::json& req, const char* name, std::size_t min_chars, std::size_t max_chars,
                 const std::string& fallback);

/// As text(), and refused when it holds a control character (C0, DEL, or C1 in UTF-8): for text that
/// reaches a log line or another module (a kill reason, an alarm id), so it cannot forge a line.
std::string one_line(const nlohmann::json& req, const char* name, std::size_t min_chars, std::size_t max_chars,
                     const std::string& fallback);

/// True when `name` is present (any type).
inline bool has(const nlohmann::json& req, const char* name) { return req.contains(name); }

}  // namespace agner::introspect::fields
