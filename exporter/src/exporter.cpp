// The exporter: a sampler thread that summarises the process table, and a Collectable that renders
// the runtime's counters, that summary and the process_* metrics on each scrape.
#include "agner/exporter/exporter.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <boost/asio/ip/address.hpp>
#include <fmt/format.h>
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "agner/introspect/queries.hpp"
#include "http_server.hpp"
#include "utf8.hpp"

namespace agner::exporter {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

/// Queue-length bucket bounds for agner_message_queue_length (processes per bucket).
constexpr double queue_buckets[] = {0, 1, 10, 100, 1000, 10000, 100000};

/// What the sampler learns from one scan of the process table.
struct table_summary {
  std::uint64_t processes = 0;
  std::uint64_t queue_max = 0, queue_sum = 0;
  std::uint64_t bucket_counts[std::size(queue_buckets)] = {};
  std::uint64_t oldest_age_ms = 0;
  double scan_seconds = 0;
  double taken_at = 0;  // unix seconds
};

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

std::string escape_help(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::chrono::milliseconds jittered(std::chrono::milliseconds every, std::uint64_t seed) {
  // Uniform in [0.8, 1.2] x every, so the scan cannot stay in phase with a periodic workload.
  std::mt19937_64 rng(seed);
  const auto lo = every.count() * 4 / 5, hi = every.count() * 6 / 5;
  return std::chrono::milliseconds(std::uniform_int_distribution<std::int64_t>(lo, std::max(lo, hi))(rng));
}

namespace {

ClientMetric value_metric(double v, MetricType type, std::vector<prometheus::ClientMetric::Label> labels = {}) {
  ClientMetric m;
  m.label = std::move(labels);
  if (type == MetricType::Counter) {
    m.counter.value = v;
  } else {
    m.gauge.value = v;
  }
  return m;
}

MetricFamily family(std::string name, std::string help, MetricType type) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

MetricFamily single(std::string name, std::string help, MetricType type, double v) {
  auto f = family(std::move(name), std::move(help), type);
  f.metric.push_back(value_metric(v, type));
  return f;
}

/// The standard process_* metrics, from /proc/self.
void process_metrics(std::vector<MetricFamily>& out) {
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  std::ifstream stat("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');
  if (close == std::string::npos) return;
  std::istringstream fields(text.substr(close + 2));
  std::vector<std::string> f((std::istream_iterator<std::string>(fields)), std::istream_iterator<std::string>());
  if (f.size() < 22) return;
  // Fields after the command: state is f[0], so field N of proc(5) is f[N - 3].
  const double utime = std::stod(f[11]) / ticks, stime = std::stod(f[12]) / ticks;
  const double start_ticks = std::stod(f[19]);
  const double vsize = std::stod(f[20]);
  const double rss = std::stod(f[21]) * static_cast<double>(sysconf(_SC_PAGESIZE));
  double boot = 0;
  std::ifstream s("/proc/stat");
  for (std::string line; std::getline(s, line);)
    if (line.starts_with("btime ")) boot = std::stod(line.substr(6));
  std::error_code ec;
  double fds = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec))
    ++fds;
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  out.push_back(single("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", MetricType::Counter, utime + stime));
  out.push_back(single("process_resident_memory_bytes", "Resident memory size in bytes.", MetricType::Gauge, rss));
  out.push_back(single("process_virtual_memory_bytes", "Virtual memory size in bytes.", MetricType::Gauge, vsize));
  out.push_back(single("process_open_fds", "Number of open file descriptors.", MetricType::Gauge, fds));
  out.push_back(single("process_max_fds", "Maximum number of open file descriptors.", MetricType::Gauge, static_cast<double>(lim.rlim_cur)));
  out.push_back(single("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
                       MetricType::Gauge, boot + start_ticks / ticks));
}

}  // namespace

class runtime_collector final : public prometheus::Collectable {
 public:
  runtime_collector(runtime& rt, const options& o) : rt_(rt), opts_(o) {}

  void store(const table_summary& s) {
    std::lock_guard lock(mutex_);
    summary_ = s;
  }

  std::vector<MetricFamily> Collect() const override;

 private:
  runtime& rt_;
  const options& opts_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  mutable std::mutex mutex_;  // the exporter's own: the sampler and scrapes, never the message path
  table_summary summary_;
};

std::vector<MetricFamily> runtime_collector::Collect() const {
  table_summary t;
  {
    std::lock_guard lock(mutex_);
    t = summary_;
  }
  const auto n = introspect::system_info(rt_, started_);  // O(schedulers)
  std::vector<MetricFamily> out;
  using L = std::vector<prometheus::ClientMetric::Label>;
  auto counter = [&](std::string name, std::string help, double v) { out.push_back(single(std::move(name), std::move(help), MetricType::Counter, v)); };
  auto gauge = [&](std::string name, std::string help, double v) { out.push_back(single(std::move(name), std::move(help), MetricType::Gauge, v)); };

  auto build = family("agner_build_info", "Agner's version; the value is 1.", MetricType::Gauge);
  build.metric.push_back(value_metric(1, MetricType::Gauge, L{{"version", AGNER_VERSION}, {"node", opts_.node_name}}));
  out.push_back(std::move(build));
  gauge("agner_uptime_seconds", "Seconds since the node started.", static_cast<double>(n.uptime_ns) / 1e9);
  gauge("agner_processes", "Processes alive.", n.process_count);
  gauge("agner_process_limit", "Most processes that may be alive at once.", n.process_limit);
  std::uint64_t in_schedulers = 0;
  for (auto& sc : n.schedulers) in_schedulers += sc.run_queue_length;
  gauge("agner_global_run_queue_length", "Runnable processes waiting in the global run queue (made runnable outside the schedulers).",
        static_cast<double>(n.run_queue_total - std::min(n.run_queue_total, in_schedulers)));

  auto rq = family("agner_run_queue_length", "Runnable processes waiting in a scheduler's run queue.", MetricType::Gauge);
  auto busy = family("agner_scheduler_busy_seconds_total", "Time a scheduler spent running processes (not idle).", MetricType::Counter);
  auto wall = family("agner_scheduler_wall_seconds_total", "Time since a scheduler started.", MetricType::Counter);
  auto reds = family("agner_reductions_total", "Reductions (units of work) done by a scheduler.", MetricType::Counter);
  auto switches = family("agner_context_switches_total", "Process activations by a scheduler.", MetricType::Counter);
  for (auto& s : n.schedulers) {
    L l{{"scheduler", std::to_string(s.id + 1)}};
    rq.metric.push_back(value_metric(static_cast<double>(s.run_queue_length), MetricType::Gauge, l));
    busy.metric.push_back(value_metric(static_cast<double>(s.busy_ns) / 1e9, MetricType::Counter, l));
    wall.metric.push_back(value_metric(static_cast<double>(s.wall_ns) / 1e9, MetricType::Counter, l));
    reds.metric.push_back(value_metric(static_cast<double>(s.reductions), MetricType::Counter, l));
    switches.metric.push_back(value_metric(static_cast<double>(s.context_switches), MetricType::Counter, l));
  }
  for (auto* f : {&rq, &busy, &wall, &reds, &switches}) out.push_back(std::move(*f));

  const auto& m = n.messages;
  counter("agner_messages_sent_total", "Messages sent, including to dead processes.", static_cast<double>(m.sent));
  counter("agner_messages_delivered_total", "Messages handed to a live receiver.", static_cast<double>(m.delivered));
  auto dropped = family("agner_messages_dropped_total", "Messages dropped by bounded mailboxes, by cause.", MetricType::Counter);
  dropped.metric.push_back(value_metric(static_cast<double>(m.dropped_rejected), MetricType::Counter, L{{"cause", "rejected"}}));
  dropped.metric.push_back(value_metric(static_cast<double>(m.dropped_newest), MetricType::Counter, L{{"cause", "drop_newest"}}));
  dropped.metric.push_back(value_metric(static_cast<double>(m.dropped_oldest), MetricType::Counter, L{{"cause", "drop_oldest"}}));
  out.push_back(std::move(dropped));
  counter("agner_dead_letters_total", "Messages to a dead process, or left queued when it ended.", static_cast<double>(m.dead_letters));
  counter("agner_messages_shed_total", "Sends by name refused by a shed point (overloaded).", static_cast<double>(m.shed));
  counter("agner_late_replies_total", "Replies that arrived after their request timed out.", static_cast<double>(m.late_replies));
  counter("agner_messages_unhandled_total", "Messages a handler matched no branch for (ctx.unhandled); the first of each type per process is logged.",
          static_cast<double>(m.unhandled));

  auto gc = family("agner_gc_runs_total", "Garbage collections of process heaps, by kind.", MetricType::Counter);
  gc.metric.push_back(value_metric(static_cast<double>(n.gc.minor_runs), MetricType::Counter, L{{"kind", "minor"}}));
  gc.metric.push_back(value_metric(static_cast<double>(n.gc.major_runs), MetricType::Counter, L{{"kind", "major"}}));
  out.push_back(std::move(gc));
  counter("agner_gc_reclaimed_bytes_total", "Bytes given back by garbage collections.", static_cast<double>(n.gc.bytes_reclaimed));

  auto mem = family("agner_memory_bytes", "Memory by kind.", MetricType::Gauge);
  mem.metric.push_back(value_metric(static_cast<double>(n.memory.processes), MetricType::Gauge, L{{"kind", "processes"}}));
  mem.metric.push_back(value_metric(static_cast<double>(n.memory.heaps), MetricType::Gauge, L{{"kind", "heaps"}}));
  mem.metric.push_back(value_metric(static_cast<double>(n.memory.binary), MetricType::Gauge, L{{"kind", "binary"}}));
  out.push_back(std::move(mem));

  gauge("agner_ports", "Ports (sockets and listeners) open.", static_cast<double>(n.ports.open));
  counter("agner_ports_accepted_total", "Connections accepted by listening ports.", static_cast<double>(n.ports.accepted));
  auto io = family("agner_port_io_bytes_total", "Bytes moved through ports, by direction.", MetricType::Counter);
  io.metric.push_back(value_metric(static_cast<double>(n.ports.bytes_in), MetricType::Counter, L{{"direction", "in"}}));
  io.metric.push_back(value_metric(static_cast<double>(n.ports.bytes_out), MetricType::Counter, L{{"direction", "out"}}));
  out.push_back(std::move(io));

  // From the sampler's latest scan: O(1) here, whatever the number of processes.
  gauge("agner_message_queue_length_max", "Longest message queue of any process, at the last table scan.", static_cast<double>(t.queue_max));
  gauge("agner_queued_messages", "Messages queued in all processes, at the last table scan.", static_cast<double>(t.queue_sum));
  auto dist = family("agner_message_queue_length", "Processes by message-queue length, at the last table scan.", MetricType::Histogram);
  {
    ClientMetric h;
    h.histogram.sample_count = t.processes;
    h.histogram.sample_sum = static_cast<double>(t.queue_sum);
    for (std::size_t i = 0; i < std::size(queue_buckets); ++i)
      h.histogram.bucket.push_back({t.bucket_counts[i], queue_buckets[i]});
    h.histogram.bucket.push_back({t.processes, std::numeric_limits<double>::infinity()});
    dist.metric.push_back(std::move(h));
  }
  out.push_back(std::move(dist));
  gauge("agner_oldest_message_age_seconds", "Age of the oldest queued message in any process, at the last table scan.",
        static_cast<double>(t.oldest_age_ms) / 1e3);
  gauge("agner_table_scan_duration_seconds", "How long the last scan of the process table took.", t.scan_seconds);
  gauge("agner_table_scan_timestamp_seconds", "When the last scan of the process table finished (unix time).", t.taken_at);

  // Per-process series for the registered names the operator chose (bounded: at most 50).
  if (!opts_.processes.empty()) {
    auto q = family("agner_named_process_message_queue_length", "Messages queued, for chosen registered processes.", MetricType::Gauge);
    auto r = family("agner_named_process_reductions_total", "Reductions, for chosen registered processes.", MetricType::Counter);
    auto mb = family("agner_named_process_memory_bytes", "Memory, for chosen registered processes.", MetricType::Gauge);
    for (auto& name : opts_.processes) {
      auto p = rt_.whereis(name);
      auto info = p ? rt_.process_info(*p) : std::nullopt;
      if (!info) continue;
      L l{{"name", name}};
      q.metric.push_back(value_metric(static_cast<double>(info->message_queue_len), MetricType::Gauge, l));
      r.metric.push_back(value_metric(static_cast<double>(info->reductions), MetricType::Counter, l));
      mb.metric.push_back(value_metric(static_cast<double>(info->memory), MetricType::Gauge, l));
    }
    for (auto* f : {&q, &r, &mb}) out.push_back(std::move(*f));
  }
  if (opts_.extra)
    for (auto& e : opts_.extra()) {
      auto f = family(e.name, e.help, e.counter ? MetricType::Counter : MetricType::Gauge);
      for (auto& [names, v] : e.samples) {
        L l;
        for (auto& [k, val] : names) l.push_back({k, val});
        f.metric.push_back(value_metric(v, e.counter ? MetricType::Counter : MetricType::Gauge, std::move(l)));
      }
      out.push_back(std::move(f));
    }
  process_metrics(out);
  return out;
}

struct exporter::impl {
  impl(runtime& r, options o, std::shared_ptr<metrics> b)
      : rt(r), opts(std::move(o)), business(b ? std::move(b) : std::make_shared<metrics>()) {}
  runtime& rt;
  options opts;
  std::shared_ptr<metrics> business;
  std::shared_ptr<runtime_collector> collector;
  std::unique_ptr<http_server> server;
  std::thread sampler;
  std::mutex mutex;
  std::condition_variable wake;
  bool stopping = false;

  table_summary scan() const {
    table_summary s;
    const auto t0 = std::chrono::steady_clock::now();
    rt.scan([&](const process_sample& p) {
      ++s.processes;
      s.queue_max = std::max(s.queue_max, p.message_queue_len);
      s.queue_sum += p.message_queue_len;
      s.oldest_age_ms = std::max(s.oldest_age_ms, p.oldest_message_age_ms);
      for (std::size_t i = 0; i < std::size(queue_buckets); ++i)
        if (static_cast<double>(p.message_queue_len) <= queue_buckets[i]) ++s.bucket_counts[i];
    });
    s.scan_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    s.taken_at = unix_now();
    return s;
  }

  /// One scrape's document: the runtime's families, the server's own, the business registry's,
  /// help texts escaped (prometheus-cpp's TextSerializer escapes label values, not help).
  std::string render(const http_stats& st) const {
    auto families = collector->Collect();
    server_metrics(st, families);
    for (auto& f : business->registry()->Collect()) families.push_back(std::move(f));
    for (auto& f : families) {
      f.help = escape_help(to_valid_utf8(f.help));
      for (auto& m : f.metric)  // the alarms' ids and sources come from operators and rules files
        for (auto& l : m.label)
          if (!valid_utf8(l.value)) l.value = to_valid_utf8(l.value);
    }
    return prometheus::TextSerializer().Serialize(families);
  }

  static void server_metrics(const http_stats& st, std::vector<MetricFamily>& out) {
    out.push_back(single("agner_metrics_connections", "Connections open to the metrics endpoint.", MetricType::Gauge,
                         static_cast<double>(st.connections_open)));
    out.push_back(single("agner_metrics_scrapes_total", "Scrapes answered (GET and HEAD /metrics).", MetricType::Counter, static_cast<double>(st.scrapes)));
    auto closed = family("agner_metrics_connections_closed_total",
                         "Connections to the metrics endpoint the server closed, by reason (evicted past the cap, deadline).",
                         MetricType::Counter);
    closed.metric.push_back(value_metric(static_cast<double>(st.evicted), MetricType::Counter, {{"reason", "evicted"}}));
    closed.metric.push_back(value_metric(static_cast<double>(st.timed_out), MetricType::Counter, {{"reason", "deadline"}}));
    out.push_back(std::move(closed));
  }
};

exporter::exporter(runtime& rt, options o, std::shared_ptr<metrics> business)
    : impl_(std::make_unique<impl>(rt, std::move(o), std::move(business))) {
  auto& s = *impl_;
  if (s.opts.processes.size() > 50)
    throw std::runtime_error(fmt::format("per-process metrics for at most 50 names, not {}", s.opts.processes.size()));
  // Each name is one label value: the same name twice would give two samples with one identity.
  for (std::size_t i = 0; i < s.opts.processes.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (s.opts.processes[i] == s.opts.processes[j])
        throw std::runtime_error(fmt::format("per-process metrics name {:?} twice: give each name once",
                                             s.opts.processes[i]));
  const auto& h = s.opts.http;
  if (h.max_connections < 1 || h.max_request_bytes < 1024)
    throw std::runtime_error(fmt::format("metrics server: max_connections must be at least 1 and max_request_bytes at least 1024, not {} and {}",
                                         h.max_connections, h.max_request_bytes));
  if (h.header_timeout.count() <= 0 || h.idle_timeout.count() <= 0 || h.write_timeout.count() <= 0)
    throw std::runtime_error("metrics server: header_timeout, idle_timeout and write_timeout must be positive");
  if (s.opts.sample_every.count() <= 0)
    throw std::runtime_error(fmt::format("the table scan interval must be positive, not {} ms", s.opts.sample_every.count()));
  const auto colon = s.opts.listen.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error(fmt::format("--metrics-listen {}: expected ADDR:PORT", s.opts.listen));
  std::string host = s.opts.listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  const std::string port_text = s.opts.listen.substr(colon + 1);
  unsigned long port = 0;
  std::size_t used = 0;
  try {
    port = std::stoul(port_text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (port_text.empty() || used != port_text.size() || port > 65535 || !std::isdigit(static_cast<unsigned char>(port_text[0])))
    throw std::runtime_error(fmt::format("--metrics-listen {}: the port must be a number from 0 to 65535", s.opts.listen));
  boost::system::error_code ec;
  const auto addr = boost::asio::ip::make_address(host, ec);
  if (ec) throw std::runtime_error(fmt::format("--metrics-listen {}: bad address", s.opts.listen));
  if (!addr.is_loopback() && !s.opts.allow_remote)
    throw std::runtime_error(fmt::format("--metrics-listen {}: only loopback addresses unless remote scraping is allowed",
                                         s.opts.listen));
  s.collector = std::make_shared<runtime_collector>(rt, s.opts);
  s.collector->store(s.scan());
  try {
    s.server = std::make_unique<http_server>(host, static_cast<std::uint16_t>(port), s.opts.http, [&s](const http_stats& st) { return s.render(st); });
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("--metrics-listen {}: {}", s.opts.listen, e.what()));
  }
  s.sampler = std::thread([&s] {
    std::random_device seed;
    std::mt19937_64 rng(seed());
    std::unique_lock lock(s.mutex);
    while (!s.wake.wait_for(lock, jittered(s.opts.sample_every, rng()), [&s] { return s.stopping; })) {
      lock.unlock();
      s.collector->store(s.scan());
      lock.lock();
    }
  });
}

exporter::~exporter() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  impl_->sampler.join();
  impl_->server.reset();
}

std::uint16_t exporter::port() const { return impl_->server->port(); }

metrics& exporter::business() { return *impl_->business; }

}  // namespace agner::exporter
