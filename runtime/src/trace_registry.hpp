#pragma once
/// The traces a runtime holds (agner/runtime/trace.hpp). Private to the runtime module.
#include <memory>
#include <mutex>
#include <vector>

#include "agner/runtime/trace.hpp"

namespace agner::detail {

struct trace_registry {
  struct entry {
    pid traced;
    bool sent = false;
    std::shared_ptr<trace_sink> sink;
  };
  std::mutex mutex;
  std::vector<entry> entries;  // under mutex; at most max_traces
};

}  // namespace agner::detail
