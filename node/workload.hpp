#pragma once
// The synthetic workload agner-node runs until the MatchStream demo exists: something worth
// looking at in etop at any moment.
#include "agner/exporter/metrics.hpp"
#include "agner/runtime/runtime.hpp"

namespace agner::node {

/// Starts it under a supervisor registered as "workload_sup" and returns that supervisor:
/// - workers_sup: 8 steady workers ("worker_1".."worker_8") ticking every 10 ms;
/// - a slow consumer ("slow_consumer", ~10,000 messages/s) fed bursts by "burst_producer", so its
///   queue grows to ~20,000 and drains every 5 s;
/// - "flaky", which crashes every ~7 s and is restarted;
/// - "ledger", which keeps a growing and shrinking state in its heap and hibernates between bursts.
/// Business metrics, in `metrics`: synthetic_jobs_total (jobs the slow consumer finished),
/// synthetic_ledger_records (the ledger's size).
pid start_synthetic_workload(runtime& rt, exporter::metrics& metrics);

/// A process that waits for a message it never gets.
pid spawn_idle(runtime& rt);

}  // namespace agner::node
