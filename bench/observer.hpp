#pragma once
/// `agner-bench --introspection ...`: serves introspection on the bench's runtime and polls it the
/// way etop does (system info, top 20 by queue, top 20 by reductions over the window) every second,
/// so "introspection always on" can be measured against off in the same build.
#include <memory>

#include "agner/runtime/runtime.hpp"

namespace agner::bench {

/// Set by main from --introspection and --scrape.
extern bool introspection_on;
extern bool scrape_on;
/// Set by main from --trace-elsewhere: one idle process, traced for the whole run (the cost of a
/// trace to every other process's message path, which should be nothing).
extern bool trace_elsewhere;

/// GET http://127.0.0.1:port/metrics; the body's size.
std::size_t scrape(std::uint16_t port);

/// Starts serving and polling `rt` when introspection_on, and exporting and scraping it once a
/// second when scrape_on, and tracing an idle process when trace_elsewhere; stops when destroyed.
std::shared_ptr<void> observe(runtime& rt);

}  // namespace agner::bench
