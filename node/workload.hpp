#pragma once
// The synthetic workload agner-node runs until the MatchStream demo exists: something worth
// looking at in etop at any moment.
#include "agner/alarms/engine.hpp"
#include "agner/exporter/metrics.hpp"
#include "agner/runtime/runtime.hpp"

namespace agner::node {

/// Starts it under a supervisor registered as "workload_sup" and returns that supervisor once it and
/// workers_sup have started their children (every name below is registered by then). Blocks the calling
/// thread (a plain thread, never a scheduler) for that, polling each millisecond, at most 30 s:
/// - workers_sup: 8 steady workers ("worker_1".."worker_8") ticking every 10 ms;
/// - a slow consumer ("slow_consumer", ~10,000 messages/s) fed bursts by "burst_producer", so its
///   queue grows to ~20,000 and drains every 5 s;
/// - "flaky", which crashes every ~7 s and is restarted;
/// - "ledger", which keeps a growing and shrinking state in its heap and hibernates between bursts.
/// Every sixth burst is a surge of 60,000. The producer asks the "ingress" valve (class "batch")
/// before each job and drops the job when refused. Business metrics, in `metrics`:
/// synthetic_jobs_total (finished), synthetic_jobs_shed_total (refused by the valve),
/// synthetic_backlog (sent and not yet finished), synthetic_ledger_records (the ledger's size).
/// Throws std::runtime_error when the supervisor gives up before every child runs (a process limit
/// below synthetic_workload_processes, say).
pid start_synthetic_workload(runtime& rt, exporter::metrics& metrics, alarms::engine& alarms);

/// The processes the synthetic workload keeps alive: 2 supervisors, 8 workers and 4 others. A process
/// limit below it leaves a supervisor that gave up; agner-node refuses such a --process-limit.
inline constexpr std::uint32_t synthetic_workload_processes = 14;

/// A process that waits for a message it never gets.
pid spawn_idle(runtime& rt);

}  // namespace agner::node
