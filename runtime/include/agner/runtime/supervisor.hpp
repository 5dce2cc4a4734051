#pragma once
/// OTP supervisors: processes that start children, watch them and restart them by a strategy.
#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "agner/runtime/behaviour.hpp"
#include "agner/runtime/clock.hpp"
#include "agner/runtime/request.hpp"
#include "agner/runtime/runtime.hpp"

namespace agner {

enum class restart_strategy {
  one_for_one,   ///< restart only the child that ended
  one_for_all,   ///< stop all the others, then restart them all
  rest_for_one,  ///< stop the children started after it, then restart it and them
};

enum class restart_type {
  permanent,  ///< always restarted
  transient,  ///< restarted unless it ended with "normal" or "shutdown"
  temporary,  ///< never restarted (and forgotten once it ends)
};

struct child_spec {
  std::string id;
  /// Starts the child linked to the supervisor (with ctx.spawn_link) and returns its pid. An
  /// exception counts as a failed start.
  std::function<pid(context&)> start;
  restart_type restart = restart_type::permanent;
  /// How long the child gets to end after an exit signal "shutdown" before it is killed;
  /// zero kills at once (Erlang's brutal_kill).
  std::chrono::milliseconds shutdown{5000};

  /// A child running `B(args...)`.
  template <class B, class... A>
  static child_spec worker(std::string id, A... args) {
    child_spec s;
    s.id = std::move(id);
    s.start = [args...](context& ctx) { return ctx.spawn_link<B>(args...); };
    return s;
  }
};

struct supervisor_flags {
  restart_strategy strategy = restart_strategy::one_for_one;
  /// At most `intensity` restarts within `period`; one more and the supervisor stops its children
  /// and exits with reason "shutdown" (its own supervisor then decides).
  int intensity = 1;
  std::chrono::milliseconds period{5000};
};

/// Requests a supervisor answers (with runtime::call or context::request):
/// start_child -> pid (or std::string, the error); terminate_child -> bool; which_children ->
/// std::vector<child_info>.
struct start_child {
  child_spec spec;
};
struct terminate_child {
  std::string id;
};
struct which_children {};
struct child_info {
  std::string id;
  pid current;  ///< default pid when not running
  restart_type restart;
};

/// The supervisor behaviour. Spawn it like any process:
/// `rt.spawn_with<supervisor>({.name = "sup"}, flags, std::vector<child_spec>{...})`.
class supervisor final : public behaviour {
 public:
  /// Throws std::invalid_argument naming the problem (duplicate id, missing start, bad flags).
  supervisor(supervisor_flags flags, std::vector<child_spec> children);
  void init(context& ctx);
  void handle(context& ctx, message& m) override;
  /// For process_info: the strategy, the intensity and each child with its pid.
  std::string describe() const;

  /// A child_spec that runs a nested supervisor.
  static child_spec child(std::string id, supervisor_flags flags, std::vector<child_spec> children);

 private:
  struct entry {
    child_spec spec;
    pid current;
  };
  struct stop_plan {
    std::vector<pid> to_stop;  // in stop order
    std::size_t next = 0;
    pid stopping;
    bool killed = false;
    timer_ref timer;
    std::function<void(context&)> then;
  };
  struct shutdown_timeout {
    pid child;
  };

  void on_exit(context& ctx, pid from, const std::string& reason);
  template <class R>
  void membership(context& ctx, R& r);
  void handle_request(context& ctx, request<start_child>& r);
  void handle_request(context& ctx, request<terminate_child>& r);
  void restart(context& ctx, std::size_t index);
  bool note_restart(context& ctx);
  bool start(context& ctx, std::size_t index);
  void stop_then(context& ctx, std::vector<pid> to_stop, std::function<void(context&)> then);
  void stop_next(context& ctx);
  void shut_down(context& ctx, std::string reason);
  std::optional<std::size_t> find(pid p) const;
  std::optional<std::size_t> find(const std::string& id) const;

  supervisor_flags flags_;
  std::vector<entry> children_;
  std::deque<clock::time_point> restarts_;
  std::optional<stop_plan> plan_;
  std::vector<std::function<void(context&)>> deferred_;  // exits and requests seen while a plan runs
};

}  // namespace agner
