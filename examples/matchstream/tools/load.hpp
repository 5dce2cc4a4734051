#pragma once
// matchstream-load (docs/matchstream.md, "Tools"): the write-up's fake_client. Many clients, each
// connecting as `VERSION:1:CONNECT:<user>:MATCH:<id>`, checking that seq has no gap and measuring
// delivery latency (receive time - at_us). One io_context thread a process; past the socket limit of
// one process the clients are spread over worker processes (the program fork/execs itself).
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "histogram.hpp"

namespace matchstream::tools {

/// What the flags set. Times in seconds; ramp 0 = start every client at once (within concurrency).
struct load_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 7000;
  std::size_t clients = 1;
  std::size_t concurrency = 100;  ///< connection attempts in flight at once (connect to status block)
  std::vector<std::string> matches;
  double ramp_s = 0;
  double duration_s = 0;           ///< 0: run until every client has ended or failed
  double attempt_timeout_s = 30;   ///< an attempt with no status block by then fails with reason "timeout"
  std::string user_prefix = "u";
  std::size_t workers = 0;         ///< 0: as many as the socket limit needs
  bool exit_when_connected = false; ///< stop once every client has its status block or has failed
  double reconnect_s = 0;          ///< >0: a client that fails or is closed before `end` connects again after this many seconds
  // Worker mode (set by the parent process only): this process serves clients [first, first+count).
  int worker_index = -1;
  std::size_t first_client = 0;
};

/// What one match looked like from the clients' side.
struct match_seen {
  std::uint64_t clients_ended = 0;  ///< clients that received its end block
  std::int64_t last_seq = -1;       ///< highest seq any client received
};

/// One worker's figures: cumulative counts plus the latency of the last interval (progress) or of
/// the whole run (summary). Plain data; merged by the parent.
struct load_report {
  int worker = 0;
  std::size_t clients = 0;
  std::uint64_t connected = 0;   ///< clients streaming now (status received, not ended)
  std::uint64_t connecting = 0;  ///< attempts in flight now
  std::uint64_t subscribed = 0;  ///< clients that ever received their status block
  std::uint64_t ended = 0;       ///< clients that received end
  std::map<std::string, std::uint64_t> failed;  ///< by reason: refused, reset, timeout, overloaded, ...
  std::uint64_t reconnects = 0;  ///< attempts started again after a failure (--reconnect)
  std::uint64_t events = 0;          ///< event blocks received (status blocks not counted)
  std::uint64_t interval_events = 0; ///< event blocks in the last interval
  double interval_s = 0;
  std::uint64_t gaps = 0;            ///< blocks whose seq was not the previous + 1, or no status first
  std::uint64_t lost = 0;            ///< events skipped by those gaps (seq jumps), plus blocks out of order
  double last_subscribed_s = 0;      ///< seconds from the start to the last status block received
  std::uint64_t malformed = 0;       ///< blocks without a parsable header, seq or at_us
  std::uint64_t bytes = 0;
  std::map<std::string, match_seen> matches;
  histogram latency;  ///< microseconds, event blocks only

  nlohmann::json to_json() const;
  static load_report from_json(const nlohmann::json& j);  ///< throws nlohmann::json::exception
  /// Adds counts; `latency` merged; interval_s is the largest.
  void merge(const load_report& o);
};

/// Runs this process's share of the clients on one io_context thread until they are all done or
/// the duration passes. Calls `progress` each second with the interval's figures (latency is
/// the interval's), and returns the whole run's report (latency over the run). Blocking; not
/// thread-safe (one call a process).
load_report run_clients(const load_options& o, std::size_t first, std::size_t count, int worker,
                        const std::function<void(const load_report&)>& progress);

/// One progress line: "connected N connecting N ended N failed N (reason N ...) events N events/s N gaps N
/// latency p50 Xms p99 Xms max Xms".
std::string progress_line(const load_report& r, double elapsed_s);

/// The JSON summary printed at the end (docs/matchstream.md, "Tools").
nlohmann::json summary_json(const load_report& total, const std::vector<load_report>& workers,
                            const load_options& o, double elapsed_s);

}  // namespace matchstream::tools
