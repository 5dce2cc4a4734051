// agner-bench: the runtime's benchmarks, printing the same lines as ../shared/peers with `agner` first.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "benches.hpp"
#include "observer.hpp"

namespace {

constexpr const char* usage = R"(usage: agner-bench [--schedulers N] [--introspection] [--scrape] [--trace-elsewhere] BENCH [ARGS...]
  --introspection           serve introspection and poll it as etop does, once a second
  --scrape                  serve /metrics and scrape it once a second
  --trace-elsewhere         trace one idle process (sent and received) for the whole run
  spawn N                   spawn N idle processes: ns per spawn, bytes per idle process
  pingpong PAIRS ROUNDTRIPS PAIRS pairs doing ROUNDTRIPS request/reply round trips each
  ring N HOPS               a ring of N processes passing one token HOPS times
  counting MSGS             one producer floods one process with MSGS messages, then asks the total
  topq N K Q                N idle processes, K of them with Q queued messages: time the top 20 by queue
  groups N NAMED K          N idle processes, NAMED of them registered user_sup_I, K with 1,000 queued
                            messages: time the grouped view (introspect groups) beside the top 20 by queue
  scrape N                  N idle processes: time a /metrics scrape (mean of 100) and its size
  overload SECONDS          ~4x a worker pool's capacity through a valve, shedding on then off
  call CLIENTS ROUNDTRIPS [MS|infinity]
                            CLIENTS processes each doing ROUNDTRIPS request/reply round trips against one
                            server, with a 5 s timeout, then with agner::infinity (no timer); or only
                            with a timeout of MS milliseconds, or only with infinity
  call_co CLIENTS ROUNDTRIPS [MS|infinity]
                            the same, each client calling with co_await ctx.call in one handler
  send_after TIMERS         TIMERS timers of 1 ms started from 10 processes per scheduler: timers per second
  fanout SUBSCRIBERS EVENTS one publisher sends each of EVENTS events to SUBSCRIBERS processes: messages
                            per second, peak growth of allocated bytes (peak_bytes) and of RSS, and the
                            peak count of messages sent but not yet handled (peak_queued), sampled every 5 ms
  gc LIVE QUEUED RUNS       a process with LIVE 64-byte strings in its heap and QUEUED messages
                            waiting: time per major (compacting) collection, RUNS runs
  stop N Q                  N processes, Q messages queued behind 5 us handlers: time runtime::stop
  tree S C                  S supervisors of C workers under one root: CPU per supervision_tree request
  all                       each of the above with the peers' parameters
)";

long arg(const std::vector<std::string>& args, std::size_t i) {
  if (i >= args.size()) {
    std::fputs(usage, stderr);
    std::exit(2);
  }
  char* end = nullptr;
  long v = std::strtol(args[i].c_str(), &end, 10);
  if (*end != '\0' || v <= 0) {
    std::fprintf(stderr, "agner-bench: '%s' is not a positive integer\n", args[i].c_str());
    std::exit(2);
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  agner::runtime_options opts;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (bool more = true; more;) {
    more = false;
    if (args.size() >= 2 && args[0] == "--schedulers") {
      opts.schedulers = static_cast<unsigned>(arg(args, 1));
      args.erase(args.begin(), args.begin() + 2);
      more = true;
    } else if (!args.empty() && args[0] == "--scrape") {
      agner::bench::scrape_on = true;
      args.erase(args.begin());
      more = true;
    } else if (!args.empty() && args[0] == "--trace-elsewhere") {
      agner::bench::trace_elsewhere = true;
      args.erase(args.begin());
      more = true;
    } else if (!args.empty() && args[0] == "--introspection") {
      agner::bench::introspection_on = true;
      args.erase(args.begin());
      more = true;
    }
  }
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::fputs(usage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  namespace b = agner::bench;
  const std::string& what = args[0];
  auto print = [](const std::string& line) { std::printf("%s\n", line.c_str()), std::fflush(stdout); };
  if (what == "spawn") {
    print(b::spawn(opts, arg(args, 1)));
  } else if (what == "pingpong") {
    print(b::pingpong(opts, arg(args, 1), arg(args, 2)));
  } else if (what == "ring") {
    print(b::ring(opts, arg(args, 1), arg(args, 2)));
  } else if (what == "counting") {
    print(b::counting(opts, arg(args, 1)));
  } else if (what == "topq") {
    print(b::topq(opts, arg(args, 1), arg(args, 2), arg(args, 3)));
  } else if (what == "groups") {
    print(b::groups(opts, arg(args, 1), arg(args, 2), arg(args, 3)));
  } else if (what == "scrape") {
    print(b::scrape(opts, arg(args, 1)));
  } else if (what == "overload") {
    print(b::overload(opts, arg(args, 1)));
  } else if (what == "call" || what == "call_co") {
    const bool co = what == "call_co";
    if (args.size() > 3 && args[3] == "infinity") {
      print(b::call(opts, arg(args, 1), arg(args, 2), agner::infinity, co));
    } else if (args.size() > 3) {
      print(b::call(opts, arg(args, 1), arg(args, 2), std::chrono::milliseconds(arg(args, 3)), co));
    } else {
      print(b::call(opts, arg(args, 1), arg(args, 2), std::chrono::seconds(5), co));
      print(b::call(opts, arg(args, 1), arg(args, 2), agner::infinity, co));
    }
  } else if (what == "send_after") {
    print(b::send_after(opts, arg(args, 1)));
  } else if (what == "fanout") {
    print(b::fanout(opts, arg(args, 1), arg(args, 2)));
  } else if (what == "gc") {
    print(b::gc(opts, arg(args, 1), arg(args, 2), arg(args, 3)));
  } else if (what == "stop") {
    print(b::stop(opts, arg(args, 1), arg(args, 2)));
  } else if (what == "tree") {
    print(b::tree(opts, arg(args, 1), arg(args, 2)));
  } else if (what == "all") {
    print(b::pingpong(opts, 1, 2000000));
    print(b::pingpong(opts, 100, 20000));
    print(b::ring(opts, 1000, 5000000));
    print(b::spawn(opts, 1000000));
    print(b::counting(opts, 10000000));
    print(b::topq(opts, 1000000, 10, 1000));
    print(b::groups(opts, 1000000, 10000, 10));
    print(b::gc(opts, 10000, 10000, 1000));
    print(b::call(opts, 1000, 1000, std::chrono::seconds(5)));
    print(b::call(opts, 1000, 1000, agner::infinity));
    print(b::call(opts, 1000, 1000, std::chrono::seconds(5), true));
    print(b::send_after(opts, 1000000));
    print(b::fanout(opts, 10000, 200));
  } else {
    std::fprintf(stderr, "agner-bench: unknown benchmark '%s'\n%s", what.c_str(), usage);
    return 2;
  }
  return 0;
}
