#include "observer.hpp"

#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include <utility>  // before Asio (Boost 1.74's awaitable.hpp needs std::exchange)

#include <boost/asio.hpp>

#include "agner/exporter/exporter.hpp"
#include "agner/attach/client.hpp"
#include "agner/introspect/server.hpp"
#include "agner/runtime/trace.hpp"

namespace agner::bench {

bool introspection_on = false;
bool scrape_on = false;
bool trace_elsewhere = false;

std::size_t scrape(std::uint16_t port) {
  namespace asio = boost::asio;
  asio::io_context io;
  asio::ip::tcp::socket s(io);
  s.connect({asio::ip::make_address("127.0.0.1"), port});
  asio::write(s, asio::buffer(std::string("GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")));
  std::string all;
  boost::system::error_code ec;
  asio::read(s, asio::dynamic_buffer(all), ec);
  const auto split = all.find("\r\n\r\n");
  return split == std::string::npos ? 0 : all.size() - split - 4;
}

namespace {

/// Counts what it is shown (nothing, as the traced process gets no message).
struct counting_sink final : trace_sink {
  std::atomic<std::uint64_t> events{0};
  void on_trace(const trace_event&) noexcept override { events.fetch_add(1, std::memory_order_relaxed); }
};

class observer {
 public:
  explicit observer(runtime& rt) : rt_(rt) {
    if (trace_elsewhere) {
      traced_ = rt.spawn_fn([](context&, message&) {});
      if (start_trace(rt, traced_, true, sink_) != trace_start_result::started)
        throw std::runtime_error("--trace-elsewhere: cannot trace the idle process");
    }
    if (introspection_on) {
      introspect::server_options o;
      o.node_name = fmt::format("bench-{}", ::getpid());
      o.unix_path = fmt::format("{}/bench-{}.sock", introspect::default_socket_dir(), ::getpid());
      server_ = std::make_unique<introspect::server>(rt, o);
    }
    if (scrape_on) {
      exporter::options o;
      o.listen = "127.0.0.1:0";
      exporter_ = std::make_unique<exporter::exporter>(rt, o);
    }
    poller_ = std::thread([this] { poll(); });
  }
  ~observer() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    poller_.join();
    if (traced_) stop_trace(rt_, traced_, sink_.get());
  }

 private:
  void poll() {
    std::optional<introspect::client> c;
    if (server_) c.emplace(introspect::client::attach_unix(server_->unix_path(), "viewer"));
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_; })) {
      if (c) {
        c->system_info();
        c->top("msgq", 20);
        c->top("reductions_window", 20);
      }
      if (exporter_) scrape(exporter_->port());
    }
  }
  runtime& rt_;
  pid traced_;
  std::shared_ptr<counting_sink> sink_ = std::make_shared<counting_sink>();
  std::unique_ptr<introspect::server> server_;
  std::unique_ptr<exporter::exporter> exporter_;
  std::thread poller_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
};

}  // namespace

std::shared_ptr<void> observe(runtime& rt) {
  if (!introspection_on && !scrape_on && !trace_elsewhere) return nullptr;
  return std::make_shared<observer>(rt);
}

}  // namespace agner::bench
