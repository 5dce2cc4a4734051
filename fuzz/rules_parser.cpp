// libFuzzer target: the alarm rules parser (alarms/src/rules.cpp) on arbitrary text. It must
// return rules or located errors, never crash, hang or throw (but std::bad_alloc).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "agner/alarms/rules.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > agner::alarms::max_rules_bytes) return -1;  // load_rules refuses these before parsing
  auto result = agner::alarms::parse_rules(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.json");
  if (auto* errors = std::get_if<std::vector<agner::alarms::rule_error>>(&result))
    for (auto& e : *errors) (void)e.text();
  return 0;
}
