#pragma once
// One node of etop's view (each node of the several-nodes view, and the one of `etop NODE`) on a
// thread of its own, so that a node that stops answering without closing its socket (SIGSTOP, a
// hung host) holds up only its own thread, never the keys.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "link.hpp"

namespace agner::etop {

/// A node_link driven by a thread of its own. Jobs run there one after another, in the order
/// posted; each returns what the owner applies to its own state (`apply`), which collect() runs on
/// the owner's thread, so the owner's state is never touched by the link's thread.
///
/// Thread contract: every member function is for the one owning thread (etop's main thread); the
/// node_link itself is only ever used by the link's thread. Cost: one thread per node, asleep
/// between jobs; post() and collect() take one mutex briefly.
class fleet_link {
 public:
  using apply = std::function<void()>;
  /// Runs on the link's thread with its node_link; what it returns runs on the owner's, in collect().
  /// It must capture by value (or point only to what outlives every collect()).
  using job = std::function<apply(node_link&)>;

  explicit fleet_link(target t);
  /// Joins the link's thread when it is idle or finishes within 0.2 s; otherwise (a job blocked on a
  /// silent node, for up to introspect::reply_deadline) leaves it to end on its own: the thread owns
  /// the link and everything a job captured, and nothing of the owner, so etop quits at once.
  ~fleet_link();
  fleet_link(const fleet_link&) = delete;
  fleet_link& operator=(const fleet_link&) = delete;

  /// Queues `j`. Never blocks on the node.
  void post(job j);
  /// Runs, on the caller's thread, the applies of every job finished since the last call, in order.
  /// Rethrows what a job threw (fatal_error: the node refused the credentials), after the applies
  /// before it. Returns how many ran.
  std::size_t collect();
  /// True when no job is queued or running.
  bool idle() const;
  /// How long the oldest unfinished job has been waiting on the node, in seconds (0 when idle):
  /// the time since it was posted.
  double busy_for() const;
  /// Waits until idle or `until`, whichever is first; true when idle. Blocks at most until `until`.
  bool wait_idle(std::chrono::steady_clock::time_point until) const;
  /// The link's state as of its last finished job (retry_in_s counted down since then).
  connection status() const;
  /// The session's role is admin, as of the last finished job.
  bool admin() const;
  /// True once a destructor has left a thread blocked on a silent node. etop then ends with
  /// std::_Exit after restoring the terminal, so that no static (the column table a blocked fetch
  /// reads) is destroyed under that thread. Thread-safe.
  static bool left_running();

  struct state;

 private:
  std::shared_ptr<state> state_;
  std::thread thread_;
};

/// How long `l`'s oldest request has waited, in seconds, when that is `wait_s` or more: the node
/// is not answering (stopped, or a hung host, its socket open). 0 while it answers. Owner's thread.
double silent_for(const fleet_link& l, double wait_s);

/// Runs `what` (an operation on the node; it says what happened in its string) on l's thread; the
/// outcome reaches `*notice` (which outlives every collect()) as "NAME: what happened", or without
/// "NAME: " when `name` is empty. Refused at once, without queueing, when the node has not answered
/// for `wait_s` ("not answering for Ns, nothing sent"). Owner's thread; never blocks on the node.
void act_on(fleet_link& l, const std::string& name, double wait_s, std::string* notice,
            std::function<void(node_link&, std::string&)> what);

/// The name a node goes by in the NODE column (and as ~NAME when silent): as the operator wrote
/// it, a socket path shortened to its file's name without ".sock". Pure.
std::string short_name(const target& t);

}  // namespace agner::etop
