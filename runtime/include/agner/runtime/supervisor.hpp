#pragma once
/// OTP supervisors: processes that start children, watch them and restart them by a strategy.
#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
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

/// What a child is, for operators (OTP's child type): supervisor::child declares `supervisor`.
enum class child_type { worker, supervisor };

struct child_spec {
  std::string id;
  /// Starts the child linked to the supervisor (with ctx.spawn_link) and returns its pid. An
  /// exception counts as a failed start.
  std::function<pid(context&)> start;
  restart_type restart = restart_type::permanent;
  /// How long the child gets to end after an exit signal "shutdown" before it is killed;
  /// zero kills at once (Erlang's brutal_kill).
  std::chrono::milliseconds shutdown{5000};
  /// For operators only (supervision_tree): a running child that is a supervisor is shown as one
  /// whatever this says.
  child_type type = child_type::worker;

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
  /// How long a start (at init or a restart) waits for another process that still holds the
  /// child's registered name before it counts as failed. That process is the child's predecessor,
  /// ending because the supervisor before this one was killed: its exit signal is on its way, or it
  /// is stopping its own children. Without the wait a restart would fail at once and spend the
  /// intensity of the supervisors above (OTP answers {already_started, Pid} there). Zero: no wait.
  /// Dynamic start_child requests never wait. Meanwhile the supervisor answers which_children and
  /// report(); start_child, terminate_child and its children's exits wait for the start to finish;
  /// an exit signal from its parent ends the wait and stops it. A request that waited while the
  /// supervisor ended is refused (start_child: "supervisor <pid> is shutting down"; terminate_child: false).
  /// Keep it under the parent's period / intensity (the default 1 s is under the default 5 s / 1):
  /// then a name held for good (a predecessor that ignores its supervisor's end) fails the start
  /// again within the parent's window, and the parent escalates as OTP's would; a longer wait
  /// spaces the failures past the window, and the tree retries every name_wait for ever.
  std::chrono::milliseconds name_wait{1000};
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

/// A supervisor as it is now, read by an operator's tool (supervisor::report) without a message:
/// its flags, how many restarts its window holds, and its first children in start order.
struct supervisor_report {
  enum class outcome {
    ok,                ///< the fields below are filled
    not_a_supervisor,  ///< no live supervisor has this pid (or it has not run its init yet)
    busy,              ///< it was inside a handler for longer than the wait: nothing is known
  };
  struct child {
    std::string id;
    pid current;  ///< default pid when not running
    restart_type restart = restart_type::permanent;
    child_type type = child_type::worker;  ///< as declared in its child_spec
  };
  outcome result = outcome::not_a_supervisor;
  supervisor_flags flags;
  std::size_t restarts = 0;     ///< restarts within the last flags.period (MaxR is flags.intensity)
  std::size_t child_count = 0;  ///< all its children; `children` holds at most the asked number
  bool stopping = false;        ///< it is stopping children (for a restart or its own shutdown)
  pid parent;                   ///< the supervisor that started it, if one did (also when busy)
  std::vector<child> children;
};

/// The supervisor behaviour. Spawn it like any process:
/// `rt.spawn_with<supervisor>({.name = "sup"}, flags, std::vector<child_spec>{...})`.
class supervisor final : public behaviour {
 public:
  /// Throws std::invalid_argument naming the problem (duplicate id, missing start, bad flags).
  supervisor(supervisor_flags flags, std::vector<child_spec> children);
  ~supervisor() override;
  void init(context& ctx);
  void handle(context& ctx, message& m) override;
  /// For process_info: the strategy, the intensity and each child with its pid.
  std::string describe() const;

  /// A child_spec that runs a nested supervisor.
  static child_spec child(std::string id, supervisor_flags flags, std::vector<child_spec> children);

  /// The supervisors alive on `rt` (from their init to their end), by pid. Thread-safe. Cost: a copy
  /// of a list of pids under a mutex that only supervisors' init and end take; no message, no scan.
  static std::vector<pid> all(const runtime& rt);
  /// Supervisor `p`'s state as published, with at most `max_children` children. Thread-safe, but
  /// not from a handler: it takes the supervisor's own lock, which the supervisor holds while it
  /// handles a message (microseconds: its handlers only start and stop children), waiting for it at
  /// most `wait` (then outcome busy). Holding it costs the copy of `max_children` ids, so a
  /// supervisor that gets a message meanwhile waits that long. No message is sent.
  static supervisor_report report(const runtime& rt, pid p, std::size_t max_children, std::chrono::milliseconds wait);

  /// Internal (supervisor.cpp): the lock report() takes, and who is behind it.
  struct published;

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
  /// A start that waits for `holder`, which still holds child `index`'s name (flags.name_wait).
  struct name_wait {
    std::size_t index = 0;
    pid holder;
    monitor_ref ref;
    timer_ref timer;
    bool restarting = false;  // a failed start counts against the intensity (else: the init fails)
  };
  struct name_wait_timeout {
    monitor_ref ref;
  };
  enum class started { yes, no, name_held };

  void on_exit(context& ctx, pid from, const std::string& reason);
  template <class R>
  void membership(context& ctx, R& r);
  void handle_request(context& ctx, request<start_child>& r);
  void refuse(context& ctx, request<start_child>& r);
  void refuse(context& ctx, request<terminate_child>& r);
  void handle_request(context& ctx, request<terminate_child>& r);
  void restart(context& ctx, std::size_t index);
  bool note_restart(context& ctx);
  started start(context& ctx, std::size_t index, pid* holder);
  void start_from(context& ctx, std::size_t from, bool restarting);
  void end_name_wait(context& ctx, bool holder_ended);
  void run_deferred(context& ctx);
  void stop_then(context& ctx, std::vector<pid> to_stop, std::function<void(context&)> then);
  void stop_next(context& ctx);
  void shut_down(context& ctx, std::string reason);
  std::optional<std::size_t> find(pid p) const;
  std::optional<std::size_t> find(const std::string& id) const;

  supervisor_flags flags_;
  std::shared_ptr<published> published_;
  std::vector<entry> children_;
  std::deque<clock::time_point> restarts_;
  std::optional<stop_plan> plan_;
  std::optional<name_wait> waiting_;
  bool ended_ = false;  // its shutdown is done and it exits: what was deferred is refused
  std::vector<std::function<void(context&)>> deferred_;  // exits and requests seen while a plan runs or a start waits
};

}  // namespace agner
