#pragma once
/// Ports and the blocking-work pool. Every port lives on one Boost.Asio I/O thread, which is the
/// only thread that touches port state, so none of it needs a lock.
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <array>
#include <utility>
#include <vector>

#include <boost/asio.hpp>

#include "agner/runtime/binary.hpp"
#include "agner/snapshot/counters.hpp"
#include "agner/snapshot/pid.hpp"
#include "agner/runtime/ports.hpp"
#include "counter.hpp"

namespace agner::detail {

class deliver_hook;

class io_service {
 public:
  /// What ports receive goes to their owners through `deliver`.
  io_service(deliver_hook& deliver, unsigned blocking_threads);
  ~io_service();  // closes every port, joins the threads
  io_service(const io_service&) = delete;
  io_service& operator=(const io_service&) = delete;

  // Thread-safe; the work happens on the I/O thread.
  /// Binds and listens at once (so errors reach the caller as std::system_error), accepts on the
  /// I/O thread. Returns the port and the bound TCP port number. Address in use: waits (1 s at
  /// most) for the I/O thread to run what was posted before (a dead owner's close), binds again.
  /// `backlog` 0 or past SOMAXCONN: SOMAXCONN.
  std::pair<port_id, std::uint16_t> listen(pid owner, const std::string& address, std::uint16_t port, int backlog = 0);
  void connect(pid owner, const std::string& host, std::uint16_t port);
  void send(port_id p, std::string bytes);
  void send(port_id p, binary bytes);
  void activate(port_id p);
  /// A listener closes at once. A socket writes what is queued, sends its FIN, then reads and
  /// discards the peer's bytes until its FIN (so unread input does not turn the close into an RST
  /// that loses our last bytes), for at most port_close_linger in all.
  void close(port_id p);
  void give(port_id p, pid from, pid to);
  void owner_died(pid owner);

  /// Runs `work` on the blocking pool.
  template <class F>
  void run_blocking(F&& work) {
    boost::asio::post(blocking_, std::forward<F>(work));
  }

  port_counters counters() const noexcept;

 private:
  struct port;
  std::uint64_t new_id() noexcept;
  void add(std::shared_ptr<port> p);
  void accept(std::shared_ptr<port> p);
  void adopt(const port& listener, boost::asio::ip::tcp::socket s);
  void read(std::shared_ptr<port> p);
  void flush(const std::shared_ptr<port>& p);
  void drain_input(const std::shared_ptr<port>& p);
  /// close()'s work, on the I/O thread, in send order; false when the port was dropped at once.
  bool begin_close(std::shared_ptr<port> p);
  struct chunk;
  void forget_owner(const port& p);
  void drain_sends();
  void enqueue(port_id id, chunk c);
  void drop(const std::shared_ptr<port>& p, const std::string& reason, bool tell_owner);

  deliver_hook& deliver_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  boost::asio::thread_pool blocking_;
  std::atomic<std::uint64_t> next_id_{1};
  // I/O thread only:
  std::unordered_map<std::uint64_t, std::shared_ptr<port>> ports_;
  std::unordered_multimap<pid, std::uint64_t> by_owner_;
  std::array<char, 16384> read_buffer_{};            // every socket's reads land here, one at a time
  single_writer_counter open_;
  single_writer_counter bytes_in_;
  single_writer_counter bytes_out_;
  single_writer_counter accepted_;
  single_writer_counter accept_failures_;  // accepts refused for want of descriptors or memory
  // Sends waiting for the I/O thread (enqueue/drain_sends): any thread appends under the mutex.
  std::mutex sends_mutex_;
  std::vector<std::pair<port_id, chunk>> sends_;
  bool doorbell_ = false;                           // a drain is posted and has not taken sends_ yet
  std::vector<std::pair<port_id, chunk>> draining_; // I/O thread only
  std::vector<std::shared_ptr<port>> flushing_;      // I/O thread only: sockets a drain gave bytes to
  std::thread thread_;
};

}  // namespace agner::detail
