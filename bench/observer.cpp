#include "observer.hpp"

#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "agner/introspect/client.hpp"
#include "agner/introspect/server.hpp"

namespace agner::bench {

bool introspection_on = false;

namespace {

class observer {
 public:
  explicit observer(runtime& rt) {
    introspect::server_options o;
    o.node_name = fmt::format("bench-{}", ::getpid());
    o.unix_path = fmt::format("{}/bench-{}.sock", introspect::default_socket_dir(), ::getpid());
    server_ = std::make_unique<introspect::server>(rt, o);
    poller_ = std::thread([this] { poll(); });
  }
  ~observer() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    poller_.join();
  }

 private:
  void poll() {
    auto c = introspect::client::attach_unix(server_->unix_path(), "viewer");
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_; })) {
      c.system_info();
      c.top("msgq", 20);
      c.top("reductions_window", 20);
    }
  }
  std::unique_ptr<introspect::server> server_;
  std::thread poller_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
};

}  // namespace

std::shared_ptr<void> observe(runtime& rt) {
  if (!introspection_on) return nullptr;
  return std::make_shared<observer>(rt);
}

}  // namespace agner::bench
