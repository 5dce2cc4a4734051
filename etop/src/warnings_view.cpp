#include "agner/etop/warnings_view.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "agner/etop/format.hpp"
#include "agner/etop/text.hpp"

namespace agner::etop {
namespace {

std::string who(const introspect::warning_row& w) {
  return fmt::format("{} {}", w.id, printable(w.name.find("::") != std::string::npos ? short_type(w.name) : w.name));
}

}  // namespace

bool warned(const std::vector<introspect::warning_row>& warnings, pid p) {
  return std::any_of(warnings.begin(), warnings.end(), [p](const auto& w) { return w.id == p; });
}

std::string warnings_line(const std::vector<introspect::warning_row>& warnings) {
  if (warnings.empty()) return {};
  std::string line = fmt::format("WARNINGS ({}):", warnings.size());
  for (std::size_t i = 0; i < warnings.size(); ++i)
    line += fmt::format("{} {} {}", i ? "," : "", who(warnings[i]), printable(warnings[i].kind));
  return line;
}

std::string warnings_text(const std::vector<introspect::warning_row>& warnings) {
  if (warnings.empty()) return {};
  std::string out = "WARNINGS:\n";
  for (auto& w : warnings)
    out += fmt::format("{} {} {}: {}\n", warning_marker, who(w), printable(w.kind), printable(w.message));
  return out;
}

}  // namespace agner::etop
