#include "agner/alarms/rows.hpp"

namespace agner::alarms {

std::vector<introspect::alarm_event> history_rows(const engine& e, std::size_t last) {
  auto all = e.history();
  std::vector<introspect::alarm_event> out;
  for (std::size_t i = all.size() > last ? all.size() - last : 0; i < all.size(); ++i)
    out.push_back({static_cast<std::uint64_t>(all[i].at_ms), all[i].alarm, all[i].source, all[i].from, all[i].to, all[i].value});
  return out;
}

std::vector<introspect::valve_row> valve_rows(const engine& e) {
  std::vector<introspect::valve_row> out;
  for (auto& v : e.valves()) {
    introspect::valve_row r{v.id, v.pressure, v.shadow, v.override_mode, 0, 0, 0};
    for (auto& [cls, c] : v.classes) r.offered += c.offered, r.shed += c.shed, r.would_shed += c.would_shed;
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace agner::alarms
