#include "agner/runtime/message.hpp"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>

namespace agner {

std::string demangle(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> name(abi::__cxa_demangle(mangled, nullptr, nullptr, &status),
                                              std::free);
  return status == 0 && name ? std::string(name.get()) : std::string(mangled);
}

std::string message::type_name() const { return demangle(type->info->name()); }

}  // namespace agner
