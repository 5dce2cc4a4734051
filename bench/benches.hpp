#pragma once
/// The benchmarks that mirror ../shared/peers. Each prints one line in the peers' form, `agner` first.
#include <chrono>
#include <string>

#include "agner/runtime/runtime.hpp"

namespace agner::bench {
std::string spawn(runtime_options opts, long n);
std::string pingpong(runtime_options opts, long pairs, long roundtrips);
std::string ring(runtime_options opts, long n, long hops);
std::string counting(runtime_options opts, long msgs);
std::string topq(runtime_options opts, long n, long hot, long queued);
/// `n` idle processes, every (n / named)-th registered as user_sup_I, `hot` of them with 1,000
/// messages queued: the grouped view (`groups`) and the top 20 by queue, best of 5 each, alternated.
std::string groups(runtime_options opts, long n, long named, long hot);
std::string gc(runtime_options opts, long live, long queued, long runs);
std::string scrape(runtime_options opts, long n);
/// `clients` processes each doing `calls` request/reply round trips against one echo server, each
/// request with `timeout` (agner::infinity: no timer): gen_server:call in ../shared/peers. By
/// callback (context::request), or with `co_await_form` by `co_await ctx.call` in one handler
/// (printed as `call_co`).
std::string call(runtime_options opts, long clients, long calls, std::chrono::nanoseconds timeout,
                 bool co_await_form = false);
/// `timers` send_after timers of 1 ms started from 10 processes per scheduler, until all have fired.
std::string send_after(runtime_options opts, long timers);
/// One publisher sends each of `events` events to `subscribers` processes, one event per handler;
/// messages per second and peaks sampled every 5 ms: allocated bytes (peak_bytes, as
/// erlang:memory(total) in the peer), RSS, and messages sent but not yet handled.
std::string fanout(runtime_options opts, long subscribers, long events);
/// ~4x a 4-worker pool's capacity offered through a valve for `seconds`, shedding on, then off.
std::string overload(runtime_options opts, long seconds);
/// PROCESSES workers, MESSAGES queued round robin behind ~5 µs handlers: time runtime::stop.
std::string stop(runtime_options opts, long processes, long messages);
/// A root supervisor over `supervisors` supervisors of `children` idle workers each: the CPU time
/// of one supervision_tree request (walk, JSON, dump) at the default and the largest bound, and of
/// a top-200 on the same node for scale.
std::string tree(runtime_options opts, long supervisors, long children);
}  // namespace agner::bench
