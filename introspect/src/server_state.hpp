#pragma once
// What the attach server's sessions share. Everything here is used on the server's one thread,
// except the atomics and the gate.
#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <boost/asio.hpp>

#include "agner/introspect/server.hpp"

namespace agner::introspect {

namespace asio = boost::asio;

/// Lets scheduler threads post into the server's io_context only while it exists.
struct post_gate {
  std::mutex mutex;
  asio::io_context* io = nullptr;
  template <class F>
  void post(F&& f) {
    std::lock_guard lock(mutex);
    if (io) asio::post(*io, std::forward<F>(f));
  }
};

struct server::impl {
  impl(runtime& r, server_options o) : rt(r), options(std::move(o)) {}

  runtime& rt;
  server_options options;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  asio::io_context io;
  std::shared_ptr<post_gate> gate = std::make_shared<post_gate>();
  std::optional<asio::local::stream_protocol::acceptor> unix_acceptor;
  std::optional<asio::ip::tcp::acceptor> tcp_acceptor;
  std::string unix_path;
  std::uint16_t port = 0;
  std::string admin_key, viewer_key;
  std::atomic<std::size_t> session_count{0};
  std::size_t unauthenticated = 0;
  std::size_t windowed = 0;
  std::atomic<std::uint64_t> failures{0};
  std::map<std::string, std::deque<std::chrono::steady_clock::time_point>> failures_by_source;
  std::thread thread;

  void accept_unix();
  void accept_tcp();
  /// Seconds until `source` may try again, or 0 if it may now.
  long locked_out(const std::string& source);
  void note_failure(const std::string& source);
  void audit(const std::string& line) { rt.log(fmt::format("attach: {}", line)); }
};

}  // namespace agner::introspect
