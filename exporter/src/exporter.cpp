// The exporter: on each scrape, renders the metric table (node_families.cpp) over the source's
// latest node snapshot, then the alarms' families, the server's own counters, the process_*
// metrics and the business registry.
#include "agner/exporter/exporter.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <boost/asio/ip/address.hpp>
#include <fmt/format.h>
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "agner/introspect/collector.hpp"
#include "node_families.hpp"
#include "utf8.hpp"

namespace agner::exporter {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

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

struct exporter::impl {
  impl(options o, std::shared_ptr<metrics> b) : opts(std::move(o)), business(b ? std::move(b) : std::make_shared<metrics>()) {}
  options opts;
  std::shared_ptr<metrics> business;
  std::unique_ptr<introspect::collector> owned;  // the runtime constructor's
  const introspect::snapshot_source* source = nullptr;
  std::unique_ptr<http_server> server;
  std::atomic<std::uint64_t> scrapes{0};  // GET and HEAD /metrics answered (200)

  /// The families of the latest snapshot, then the alarms' and the process_* metrics.
  std::vector<MetricFamily> collect() const {
    const auto snap = source->latest();  // O(1): the tick did the reading
    std::vector<MetricFamily> out;
    render_node_families({snap->node, snap->table, opts.node_name, snap->named}, out);
    if (opts.extra)
      for (auto& e : opts.extra()) {
        auto f = family(e.name, e.help, e.counter ? MetricType::Counter : MetricType::Gauge);
        for (auto& [names, v] : e.samples) {
          std::vector<prometheus::ClientMetric::Label> l;
          for (auto& [k, val] : names) l.push_back({k, val});
          f.metric.push_back(value_metric(v, e.counter ? MetricType::Counter : MetricType::Gauge, std::move(l)));
        }
        out.push_back(std::move(f));
      }
    process_metrics(out);
    return out;
  }

  void start();

  /// One scrape's document: the runtime's families, the server's own, the business registry's,
  /// help texts escaped (prometheus-cpp's TextSerializer escapes label values, not help).
  std::string render(const http_stats& st) const {
    auto families = collect();
    server_metrics(st, scrapes.load(std::memory_order_relaxed), families);
    for (auto& f : business->registry()->Collect()) families.push_back(std::move(f));
    for (auto& f : families) {
      f.help = escape_help(to_valid_utf8(f.help));
      for (auto& m : f.metric)  // the alarms' ids and sources come from operators and rules files
        for (auto& l : m.label)
          if (!valid_utf8(l.value)) l.value = to_valid_utf8(l.value);
    }
    return prometheus::TextSerializer().Serialize(families);
  }

  /// The server's route: GET and HEAD /metrics (the server drops HEAD's body), 405 with Allow for
  /// other methods on it, 404 elsewhere; a render that throws is the server's 500.
  http_response answer(const http_request& req, const http_stats& st) {
    if (req.path != "/metrics") return plain_error(404, "Not found: only /metrics is served.");
    if (req.method != "GET" && req.method != "HEAD") {
      auto a = plain_error(405, "Method not allowed: use GET or HEAD.");
      a.headers.emplace_back("Allow", "GET, HEAD");
      return a;
    }
    http_response a{200, "text/plain; version=0.0.4; charset=utf-8", render(st), {}, false};
    scrapes.fetch_add(1, std::memory_order_relaxed);
    return a;
  }

  static void server_metrics(const http_stats& st, std::uint64_t scrapes, std::vector<MetricFamily>& out) {
    out.push_back(single("agner_metrics_connections", "Connections open to the metrics endpoint.", MetricType::Gauge,
                         static_cast<double>(st.connections_open)));
    out.push_back(single("agner_metrics_scrapes_total", "Scrapes answered (GET and HEAD /metrics).", MetricType::Counter, static_cast<double>(scrapes)));
    auto closed = family("agner_metrics_connections_closed_total",
                         "Connections to the metrics endpoint the server closed, by reason (evicted past the cap, deadline).",
                         MetricType::Counter);
    closed.metric.push_back(value_metric(static_cast<double>(st.evicted), MetricType::Counter, {{"reason", "evicted"}}));
    closed.metric.push_back(value_metric(static_cast<double>(st.timed_out), MetricType::Counter, {{"reason", "deadline"}}));
    out.push_back(std::move(closed));
  }
};

exporter::exporter(const introspect::snapshot_source& source, options o, std::shared_ptr<metrics> business)
    : impl_(std::make_unique<impl>(std::move(o), std::move(business))) {
  impl_->source = &source;
  impl_->start();
}

exporter::exporter(const runtime& rt, options o, std::shared_ptr<metrics> business)
    : impl_(std::make_unique<impl>(std::move(o), std::move(business))) {
  auto& s = *impl_;
  s.owned = std::make_unique<introspect::collector>(
      rt, introspect::collector_options{std::min(s.opts.sample_every, std::chrono::milliseconds(1000)), s.opts.sample_every,
                                        s.opts.processes});
  s.source = s.owned.get();
  s.start();
}

void exporter::impl::start() {
  auto& s = *this;
  const auto& h = s.opts.http;
  if (h.max_connections < 1 || h.max_request_bytes < 1024)
    throw std::runtime_error(fmt::format("metrics server: max_connections must be at least 1 and max_request_bytes at least 1024, not {} and {}",
                                         h.max_connections, h.max_request_bytes));
  if (h.header_timeout.count() <= 0 || h.idle_timeout.count() <= 0 || h.write_timeout.count() <= 0)
    throw std::runtime_error("metrics server: header_timeout, idle_timeout and write_timeout must be positive");
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
  try {
    s.server = std::make_unique<http_server>(host, static_cast<std::uint16_t>(port), s.opts.http,
                                             [&s](const http_request& req, const http_stats& st) { return s.answer(req, st); });
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("--metrics-listen {}: {}", s.opts.listen, e.what()));
  }
}

exporter::~exporter() { impl_->server.reset(); }  // before the collector it reads

std::uint16_t exporter::port() const { return impl_->server->port(); }

metrics& exporter::business() { return *impl_->business; }

}  // namespace agner::exporter
