#include "agner/runtime/message.hpp"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>

namespace agner {

std::string message::type_name() const {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> name(
      abi::__cxa_demangle(type->info->name(), nullptr, nullptr, &status), std::free);
  return status == 0 && name ? std::string(name.get()) : std::string(type->info->name());
}

}  // namespace agner
