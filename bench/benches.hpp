#pragma once
/// The benchmarks that mirror ../shared/peers. Each prints one line in the peers' form, `agner` first.
#include <string>

#include "agner/runtime/runtime.hpp"

namespace agner::bench {
std::string spawn(runtime_options opts, long n);
std::string pingpong(runtime_options opts, long pairs, long roundtrips);
std::string ring(runtime_options opts, long n, long hops);
std::string counting(runtime_options opts, long msgs);
std::string topq(runtime_options opts, long n, long hot, long queued);
std::string gc(runtime_options opts, long live, long queued, long runs);
std::string scrape(runtime_options opts, long n);
/// ~4x a 4-worker pool's capacity offered through a valve for `seconds`, shedding on, then off.
std::string overload(runtime_options opts, long seconds);
/// PROCESSES workers, MESSAGES queued round robin behind ~5 µs handlers: time runtime::stop.
std::string stop(runtime_options opts, long processes, long messages);
}  // namespace agner::bench
