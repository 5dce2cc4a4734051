#include "agner/etop/warnings_view.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "agner/etop/format.hpp"
#include "agner/etop/text.hpp"

namespace agner::etop {
namespace {

/// "alpha " before the i-th warning when the nodes are named, else nothing.
std::string node_of(const std::vector<std::string>* nodes, std::size_t i) {
  return nodes && i < nodes->size() ? printable((*nodes)[i]) + " " : std::string();
}

std::string who(const introspect::warning_row& w) {
  return fmt::format("{} {}", w.id, printable(w.name.find("::") != std::string::npos ? short_type(w.name) : w.name));
}

}  // namespace

bool warned(const std::vector<introspect::warning_row>& warnings, pid p, const std::vector<std::string>* nodes,
            const std::string& node) {
  for (std::size_t i = 0; i < warnings.size(); ++i)
    if (warnings[i].id == p && (!nodes || (i < nodes->size() && (*nodes)[i] == node))) return true;
  return false;
}

std::string warnings_line(const std::vector<introspect::warning_row>& warnings, const std::vector<std::string>* nodes) {
  if (warnings.empty()) return {};
  std::string line = fmt::format("WARNINGS ({}):", warnings.size());
  for (std::size_t i = 0; i < warnings.size(); ++i)
    line += fmt::format("{} {}{} {}", i ? "," : "", node_of(nodes, i), who(warnings[i]), printable(warnings[i].kind));
  return line;
}

std::string warnings_text(const std::vector<introspect::warning_row>& warnings, const std::vector<std::string>* nodes) {
  if (warnings.empty()) return {};
  std::string out = "WARNINGS:\n";
  for (std::size_t i = 0; i < warnings.size(); ++i) {
    const auto& w = warnings[i];
    out += fmt::format("{} {}{} {}: {}\n", warning_marker, node_of(nodes, i), who(w), printable(w.kind), printable(w.message));
  }
  return out;
}

}  // namespace agner::etop
