#include "node_families.hpp"

#include <algorithm>
#include <limits>

#include "agner/exporter/families.hpp"

namespace agner::exporter {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricType;
using labels = std::vector<ClientMetric::Label>;
using sink = std::vector<ClientMetric>;

ClientMetric gauge_of(double v, labels l = {}) {
  ClientMetric m;
  m.label = std::move(l);
  m.gauge.value = v;
  return m;
}
ClientMetric counter_of(double v, labels l = {}) {
  ClientMetric m;
  m.label = std::move(l);
  m.counter.value = v;
  return m;
}
double d(std::uint64_t v) { return static_cast<double>(v); }
/// Schedulers are numbered from 1 in metrics, as Erlang numbers them.
labels scheduler_label(const introspect::scheduler_row& s) { return {{"scheduler", std::to_string(s.id + 1)}}; }

constexpr MetricType G = MetricType::Gauge, C = MetricType::Counter;

const node_family table[] = {
    {"agner_build_info", G, "Agner's version; the value is 1.",
     [](const node_sources& in, sink& out) {
       out.push_back(gauge_of(1, {{"version", AGNER_VERSION}, {"node", std::string(in.node_name)}}));
     }},
    {"agner_uptime_seconds", G, "Seconds since the runtime started, on its clock.",
     [](const node_sources& in, sink& out) { out.push_back(gauge_of(d(in.node.uptime_ns) / 1e9)); }},
    {"agner_processes", G, "Processes alive.",
     [](const node_sources& in, sink& out) { out.push_back(gauge_of(in.node.process_count)); }},
    {"agner_process_limit", G, "Most processes that may be alive at once.",
     [](const node_sources& in, sink& out) { out.push_back(gauge_of(in.node.process_limit)); }},
    {"agner_global_run_queue_length", G,
     "Runnable processes waiting in the global run queue (made runnable outside the schedulers).",
     [](const node_sources& in, sink& out) {
       std::uint64_t in_schedulers = 0;
       for (auto& s : in.node.schedulers) in_schedulers += s.run_queue_length;
       out.push_back(gauge_of(d(in.node.run_queue_total - std::min(in.node.run_queue_total, in_schedulers))));
     }},
    {"agner_run_queue_length", G, "Runnable processes waiting in a scheduler's run queue.",
     [](const node_sources& in, sink& out) {
       for (auto& s : in.node.schedulers) out.push_back(gauge_of(d(s.run_queue_length), scheduler_label(s)));
     }},
    {"agner_scheduler_busy_seconds_total", C, "Time a scheduler spent running processes (not idle).",
     [](const node_sources& in, sink& out) {
       for (auto& s : in.node.schedulers) out.push_back(counter_of(d(s.busy_ns) / 1e9, scheduler_label(s)));
     }},
    {"agner_scheduler_wall_seconds_total", C, "Time since a scheduler started.",
     [](const node_sources& in, sink& out) {
       for (auto& s : in.node.schedulers) out.push_back(counter_of(d(s.wall_ns) / 1e9, scheduler_label(s)));
     }},
    {"agner_reductions_total", C, "Reductions (units of work) done by a scheduler.",
     [](const node_sources& in, sink& out) {
       for (auto& s : in.node.schedulers) out.push_back(counter_of(d(s.reductions), scheduler_label(s)));
     }},
    {"agner_context_switches_total", C, "Process activations by a scheduler.",
     [](const node_sources& in, sink& out) {
       for (auto& s : in.node.schedulers) out.push_back(counter_of(d(s.context_switches), scheduler_label(s)));
     }},
    {"agner_messages_sent_total", C, "Messages sent, including to dead processes.",
     [](const node_sources& in, sink& out) { out.push_back(counter_of(d(in.node.messages.sent))); }},
    {"agner_messages_delivered_total", C, "Messages handed to a live receiver.",
     [](const node_sources& in, sink& out) { out.push_back(counter_of(d(in.node.messages.delivered))); }},
    {"agner_messages_dropped_total", C, "Messages dropped by bounded mailboxes, by cause.",
     [](const node_sources& in, sink& out) {
       const auto& m = in.node.messages;
       out.push_back(counter_of(d(m.dropped_rejected), {{"cause", "rejected"}}));
       out.push_back(counter_of(d(m.dropped_newest), {{"cause", "drop_newest"}}));
       out.push_back(counter_of(d(m.dropped_oldest), {{"cause", "drop_oldest"}}));
     }},
    {"agner_dead_letters_total", C, "Messages to a dead process, or left queued when it ended.",
     [](const node_sources& in, sink& out) { out.push_back(counter_of(d(in.node.messages.dead_letters))); }},
    {"agner_messages_shed_total", C, "Sends by name refused by a shed point (overloaded).",
     [](const node_sources& in, sink& out) { out.push_back(counter_of(d(in.node.messages.shed))); }},
    {"agner_late_replies_total", C, "Replies that arrived after their request timed out.",
     [](const node_sources& in, sink& out) { out.push_back(counter_of(d(in.node.messages.late_replies))); }},
    {"agner_messages_unhandled_total", C,
     "Messages a handler matched no branch for (ctx.unhandled); the first of each type per process is logged.",
     [](const node_sources& in, sink& out) { out.push_back(counter_of(d(in.node.messages.unhandled))); }},
    {"agner_gc_runs_total", C, "Garbage collections of process heaps, by kind.",
     [](const node_sources& in, sink& out) {
       out.push_back(counter_of(d(in.node.gc.minor_runs), {{"kind", "minor"}}));
       out.push_back(counter_of(d(in.node.gc.major_runs), {{"kind", "major"}}));
     }},
    {"agner_gc_reclaimed_bytes_total", C, "Bytes given back by garbage collections.",
     [](const node_sources& in, sink& out) { out.push_back(counter_of(d(in.node.gc.bytes_reclaimed))); }},
    {"agner_memory_bytes", G, "Memory by kind.",
     [](const node_sources& in, sink& out) {
       out.push_back(gauge_of(d(in.node.memory.processes_bytes), {{"kind", "processes"}}));
       out.push_back(gauge_of(d(in.node.memory.heaps_bytes), {{"kind", "heaps"}}));
       out.push_back(gauge_of(d(in.node.memory.binary_bytes), {{"kind", "binary"}}));
     }},
    {"agner_ports", G, "Ports (sockets and listeners) open.",
     [](const node_sources& in, sink& out) { out.push_back(gauge_of(d(in.node.ports.open))); }},
    {"agner_ports_accepted_total", C, "Connections accepted by listening ports.",
     [](const node_sources& in, sink& out) { out.push_back(counter_of(d(in.node.ports.accepted))); }},
    {"agner_ports_accept_failures_total", C, "Accepts that failed for want of descriptors or memory; the listener retries.",
     [](const node_sources& in, sink& out) { out.push_back(counter_of(d(in.node.ports.accept_failures))); }},
    {"agner_port_io_bytes_total", C, "Bytes moved through ports, by direction.",
     [](const node_sources& in, sink& out) {
       out.push_back(counter_of(d(in.node.ports.bytes_in), {{"direction", "in"}}));
       out.push_back(counter_of(d(in.node.ports.bytes_out), {{"direction", "out"}}));
     }},
    // From the sampler's latest scan: O(1) here, whatever the number of processes.
    {"agner_message_queue_length_max", G, "Longest message queue of any process, at the last table scan.",
     [](const node_sources& in, sink& out) { out.push_back(gauge_of(d(in.table.queue_max))); }},
    {"agner_queued_messages", G, "Messages queued in all processes, at the last table scan.",
     [](const node_sources& in, sink& out) { out.push_back(gauge_of(d(in.table.queue_sum))); }},
    {"agner_message_queue_length", MetricType::Histogram, "Processes by message-queue length, at the last table scan.",
     [](const node_sources& in, sink& out) {
       const auto& t = in.table;
       ClientMetric h;
       h.histogram.sample_count = t.processes;
       h.histogram.sample_sum = d(t.queue_sum);
       for (std::size_t i = 0; i < std::size(queue_buckets); ++i)
         h.histogram.bucket.push_back({t.bucket_counts[i], queue_buckets[i]});
       h.histogram.bucket.push_back({t.processes, std::numeric_limits<double>::infinity()});
       out.push_back(std::move(h));
     }},
    {"agner_oldest_message_age_seconds", G, "Age of the oldest queued message in any process, at the last table scan.",
     [](const node_sources& in, sink& out) { out.push_back(gauge_of(d(in.table.oldest_age_ms) / 1e3)); }},
    {"agner_table_scan_duration_seconds", G, "How long the last scan of the process table took.",
     [](const node_sources& in, sink& out) { out.push_back(gauge_of(in.table.scan_seconds)); }},
    {"agner_table_scan_timestamp_seconds", G, "When the last scan of the process table finished (unix time).",
     [](const node_sources& in, sink& out) { out.push_back(gauge_of(in.table.taken_at)); }},
    // Per-process series for the registered names the operator chose (at most 50); left out without them.
    {"agner_named_process_message_queue_length", G, "Messages queued, for chosen registered processes.",
     [](const node_sources& in, sink& out) {
       for (auto& [name, c] : in.named) out.push_back(gauge_of(d(c.message_queue_len), {{"name", name}}));
     }},
    {"agner_named_process_reductions_total", C, "Reductions, for chosen registered processes.",
     [](const node_sources& in, sink& out) {
       for (auto& [name, c] : in.named) out.push_back(counter_of(d(c.reductions), {{"name", name}}));
     }},
    {"agner_named_process_memory_bytes", G, "Memory, for chosen registered processes.",
     [](const node_sources& in, sink& out) {
       for (auto& [name, c] : in.named) out.push_back(gauge_of(d(c.memory), {{"name", name}}));
     }},
};

std::string_view type_name(MetricType t) {
  switch (t) {
    case MetricType::Counter: return "counter";
    case MetricType::Gauge: return "gauge";
    case MetricType::Histogram: return "histogram";
    case MetricType::Summary: return "summary";
    case MetricType::Untyped: return "untyped";
  }
  return "untyped";
}

}  // namespace

std::span<const node_family> node_family_table() { return table; }

void render_node_families(const node_sources& in, std::vector<prometheus::MetricFamily>& out) {
  for (const node_family& row : table) {
    prometheus::MetricFamily f;
    row.samples(in, f.metric);
    if (f.metric.empty()) continue;
    f.name = row.name;
    f.help = row.help;
    f.type = row.type;
    out.push_back(std::move(f));
  }
}

std::vector<family_doc> node_families() {
  std::vector<family_doc> docs;
  docs.reserve(std::size(table));
  for (const node_family& row : table) docs.push_back({row.name, type_name(row.type), row.help});
  return docs;
}

}  // namespace agner::exporter
