#include "agner/runtime/supervisor.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>

#include "agner/runtime/runtime.hpp"

namespace agner {

/// What report() reads: the supervisor holds `lock` while it handles a message (so a reader sees
/// its state between two handlers), and clears `self` under it as it ends.
struct supervisor::published {
  // A plain mutex polled with try_lock, not a timed_mutex: ThreadSanitizer does not see the
  // pthread_mutex_clocklock that try_lock_for uses, and would report every read as a race.
  std::mutex lock;
  const supervisor* self = nullptr;  // null once it ended
  const runtime* node = nullptr;     // set by init, when it joins the directory
  pid self_pid;
  pid parent;
};

namespace {

/// Every live supervisor by runtime and pid: how report() finds one, and all() lists them. Only a
/// supervisor's init and end write it.
struct directory {
  std::mutex lock;
  std::unordered_map<const runtime*, std::map<pid, std::shared_ptr<supervisor::published>>> nodes;
};

directory& supervisors() {
  static directory d;
  return d;
}

/// The supervisor whose start() runs on this thread now: a supervisor constructed meanwhile is its
/// child (spawn constructs the behaviour on the calling thread).
thread_local pid starting_parent;

constexpr const char* strategy_names[] = {"one_for_one", "one_for_all", "rest_for_one"};

}  // namespace

supervisor::supervisor(supervisor_flags flags, std::vector<child_spec> children)
    : flags_(flags), published_(std::make_shared<published>()) {
  published_->parent = starting_parent;
  if (flags.intensity < 0) throw std::invalid_argument("supervisor intensity must not be negative");
  if (flags.period.count() <= 0) throw std::invalid_argument("supervisor period must be positive");
  if (flags.name_wait.count() < 0) throw std::invalid_argument("supervisor name_wait must not be negative");
  std::set<std::string> ids;
  for (auto& spec : children) {
    if (spec.id.empty()) throw std::invalid_argument("every child_spec needs an id");
    if (!spec.start) throw std::invalid_argument(fmt::format("child '{}' has no start function", spec.id));
    if (!ids.insert(spec.id).second) throw std::invalid_argument(fmt::format("child id '{}' is used twice", spec.id));
    children_.push_back(entry{std::move(spec), pid{}});
  }
}

supervisor::~supervisor() {
  {
    std::lock_guard hold(published_->lock);
    published_->self = nullptr;
  }
  if (!published_->node) return;
  auto& d = supervisors();
  std::lock_guard hold(d.lock);
  auto node = d.nodes.find(published_->node);
  if (node == d.nodes.end()) return;
  if (auto it = node->second.find(published_->self_pid); it != node->second.end() && it->second == published_)
    node->second.erase(it);
  if (node->second.empty()) d.nodes.erase(node);
}

std::vector<pid> supervisor::all(const runtime& rt) {
  auto& d = supervisors();
  std::lock_guard hold(d.lock);
  std::vector<pid> out;
  if (auto node = d.nodes.find(&rt); node != d.nodes.end())
    for (auto& [p, _] : node->second) out.push_back(p);
  return out;
}

supervisor_report supervisor::report(const runtime& rt, pid p, std::size_t max_children, std::chrono::milliseconds wait) {
  supervisor_report r;
  std::shared_ptr<published> found;
  {
    auto& d = supervisors();
    std::lock_guard hold(d.lock);
    auto node = d.nodes.find(&rt);
    if (node == d.nodes.end()) return r;
    auto it = node->second.find(p);
    if (it == node->second.end()) return r;
    found = it->second;
  }
  r.parent = found->parent;  // set before it was published, never changed
  std::unique_lock hold(found->lock, std::try_to_lock);
  const auto until = std::chrono::steady_clock::now() + wait;
  while (!hold.owns_lock() && !hold.try_lock()) {
    if (std::chrono::steady_clock::now() >= until) {
      r.result = supervisor_report::outcome::busy;
      return r;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(50));  // its handlers take microseconds
  }
  const supervisor* s = found->self;
  if (!s) return r;
  r.result = supervisor_report::outcome::ok;
  r.flags = s->flags_;
  const auto since = rt.now() - s->flags_.period;
  for (auto t : s->restarts_) r.restarts += t >= since ? 1 : 0;
  r.child_count = s->children_.size();
  r.stopping = s->plan_.has_value();
  const std::size_t n = std::min(max_children, s->children_.size());
  r.children.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const entry& c = s->children_[i];
    r.children.push_back({c.spec.id, c.current, c.spec.restart, c.spec.type});
  }
  return r;
}

child_spec supervisor::child(std::string id, supervisor_flags flags, std::vector<child_spec> children) {
  child_spec s;
  s.id = std::move(id);
  s.type = child_type::supervisor;
  s.start = [flags, children](context& ctx) { return ctx.spawn_link<supervisor>(flags, children); };
  s.shutdown = std::chrono::milliseconds::max();  // a supervisor gets the time its children need
  return s;
}

std::string supervisor::describe() const {
  std::string text = fmt::format("{}, at most {} restarts in {} ms; children:", strategy_names[static_cast<int>(flags_.strategy)],
                                 flags_.intensity, flags_.period.count());
  for (auto& c : children_)
    text += c.current ? fmt::format(" {}={}", c.spec.id, c.current) : fmt::format(" {}=(not running)", c.spec.id);
  return text;
}

void supervisor::init(context& ctx) {
  std::lock_guard hold(published_->lock);
  published_->self = this;
  published_->node = &ctx.node();
  published_->self_pid = ctx.self();
  {
    auto& d = supervisors();
    std::lock_guard in(d.lock);
    d.nodes[&ctx.node()][ctx.self()] = published_;
  }
  ctx.trap_exit(true);
  start_from(ctx, 0, false);
}

/// Starts child `index`. With `holder`: a name held by a process that is not one of ours is
/// reported (name_held, *holder set) rather than logged as a failure.
supervisor::started supervisor::start(context& ctx, std::size_t index, pid* holder) {
  entry& c = children_[index];
  struct parent_scope {
    explicit parent_scope(pid p) { starting_parent = p; }
    ~parent_scope() { starting_parent = pid{}; }
  } scope(ctx.self());
  c.current = pid{};
  try {
    c.current = c.spec.start(ctx);
  } catch (const spawn_error& e) {
    if (holder && e.why() == spawn_error::reason::name_taken && e.holder() && e.holder() != ctx.self() && !find(e.holder())) {
      *holder = e.holder();
      return started::name_held;
    }
    ctx.node().log(fmt::format("supervisor {}: child '{}' failed to start: {}", ctx.self(), c.spec.id, e.what()));
  } catch (const std::exception& e) {
    ctx.node().log(fmt::format("supervisor {}: child '{}' failed to start: {}", ctx.self(), c.spec.id, e.what()));
  }
  return c.current ? started::yes : started::no;
}

/// Starts every child not running from `from` on, in order. A failed start ends the init
/// (restarting false) or is retried while the intensity allows (restarting true). A child whose
/// name another process still holds is waited for (waiting_): the rest follows its end.
void supervisor::start_from(context& ctx, std::size_t from, bool restarting) {
  for (std::size_t j = from; j < children_.size(); ++j) {
    if (children_[j].current) continue;
    for (;;) {
      pid holder;
      const started got = start(ctx, j, flags_.name_wait.count() > 0 ? &holder : nullptr);
      if (got == started::yes) break;
      if (got == started::name_held) {
        const monitor_ref ref = ctx.monitor(holder);
        waiting_ = name_wait{j, holder, ref, ctx.node().send_after(flags_.name_wait, ctx.self(), name_wait_timeout{ref}),
                             restarting};
        return;  // its down_message (or the timeout) goes on from j
      }
      if (!restarting) {
        shut_down(ctx, fmt::format("failed to start child '{}'", children_[j].spec.id));
        return;
      }
      if (!note_restart(ctx)) return;
    }
  }
}

/// The wait for a held name is over: the holder ended (start again) or the time ran out (a failed
/// start). Then what waited meanwhile runs.
void supervisor::end_name_wait(context& ctx, bool holder_ended) {
  const name_wait w = *waiting_;
  waiting_.reset();
  if (holder_ended) {
    ctx.node().cancel_timer(w.timer);
    start_from(ctx, w.index, w.restarting);
  } else {
    ctx.demonitor(w.ref);
    const std::string& id = children_[w.index].spec.id;
    ctx.node().log(fmt::format("supervisor {}: child '{}' failed to start: its name is still held by {} after {} ms",
                               ctx.self(), id, w.holder, flags_.name_wait.count()));
    if (!w.restarting) {
      shut_down(ctx, fmt::format("failed to start child '{}'", id));
    } else if (note_restart(ctx)) {
      start_from(ctx, w.index, true);
    }
  }
  run_deferred(ctx);
}

std::optional<std::size_t> supervisor::find(pid p) const {
  if (!p) return std::nullopt;  // an operator's exit signal comes from no pid; so does a stopped child
  for (std::size_t i = 0; i < children_.size(); ++i)
    if (children_[i].current == p) return i;
  return std::nullopt;
}

std::optional<std::size_t> supervisor::find(const std::string& id) const {
  for (std::size_t i = 0; i < children_.size(); ++i)
    if (children_[i].spec.id == id) return i;
  return std::nullopt;
}

void supervisor::handle(context& ctx, message& m) {
  std::lock_guard hold(published_->lock);  // report() reads between two handlers
  if (auto* e = m.get<exit_message>()) {
    on_exit(ctx, e->from, e->reason);
  } else if (auto* t = m.get<shutdown_timeout>()) {
    if (plan_ && plan_->stopping == t->child && !plan_->killed) {
      plan_->killed = true;
      ctx.send_exit(t->child, "kill");
    }
  } else if (auto* d = m.get<down_message>()) {
    if (waiting_ && d->ref == waiting_->ref) end_name_wait(ctx, true);
  } else if (auto* n = m.get<name_wait_timeout>()) {
    if (waiting_ && n->ref == waiting_->ref) end_name_wait(ctx, false);
  } else if (auto* r = m.get<request<start_child>>()) {
    membership(ctx, *r);
  } else if (auto* r2 = m.get<request<terminate_child>>()) {
    membership(ctx, *r2);
  } else if (auto* w = m.get<request<which_children>>()) {
    std::vector<child_info> rows;
    for (auto& c : children_) rows.push_back(child_info{c.spec.id, c.current, c.spec.restart});
    ctx.reply(w->from, std::move(rows));
  }
}

/// Changing the children while some are being stopped would race the plan: such a request is
/// answered once the plan is done.
template <class R>
void supervisor::membership(context& ctx, R& r) {
  if (plan_ || waiting_) {
    deferred_.push_back([this, req = r](context& c) mutable {
      if (ended_) {  // the wait or plan ended it: no child of a supervisor that is gone
        refuse(c, req);
      } else {
        handle_request(c, req);
      }
    });
  } else {
    handle_request(ctx, r);
  }
}

void supervisor::refuse(context& ctx, request<start_child>& r) {
  ctx.reply(r.from, fmt::format("supervisor {} is shutting down", ctx.self()));
}

void supervisor::refuse(context& ctx, request<terminate_child>& r) { ctx.reply(r.from, false); }

void supervisor::handle_request(context& ctx, request<start_child>& r) {
  if (find(r.body.spec.id)) {
    ctx.reply(r.from, fmt::format("a child with id '{}' already exists", r.body.spec.id));
    return;
  }
  children_.push_back(entry{std::move(r.body.spec), pid{}});
  if (start(ctx, children_.size() - 1, nullptr) == started::yes) {
    ctx.reply(r.from, children_.back().current);
  } else {
    ctx.reply(r.from, fmt::format("child '{}' failed to start", children_.back().spec.id));
    children_.pop_back();
  }
}

void supervisor::handle_request(context& ctx, request<terminate_child>& r) {
  auto i = find(r.body.id);
  if (!i) {
    ctx.reply(r.from, false);
    return;
  }
  pid running = children_[*i].current;
  std::string id = r.body.id;
  auto forget = [this, id, to = r.from](context& c) {
    if (auto j = find(id)) children_.erase(children_.begin() + static_cast<std::ptrdiff_t>(*j));
    c.reply(to, true);
  };
  if (running) {
    stop_then(ctx, {running}, forget);
  } else {
    forget(ctx);
  }
}

void supervisor::on_exit(context& ctx, pid from, const std::string& reason) {
  if (ended_) return;  // a deferred exit, run after the shutdown that ended it
  if (waiting_) {
    if (!find(from) && reason != "normal") {  // our parent or an operator: stop waiting, stop everything
      ctx.demonitor(waiting_->ref);
      ctx.node().cancel_timer(waiting_->timer);
      waiting_.reset();
      shut_down(ctx, reason);
    } else {
      deferred_.push_back([this, from, reason](context& c) { on_exit(c, from, reason); });
    }
    return;
  }
  if (plan_) {
    if (from == plan_->stopping) {
      ctx.node().cancel_timer(plan_->timer);
      plan_->stopping = pid{};
      stop_next(ctx);
    } else if (auto it = std::find(plan_->to_stop.begin() + static_cast<std::ptrdiff_t>(plan_->next),
                                   plan_->to_stop.end(), from);
               it != plan_->to_stop.end()) {
      plan_->to_stop.erase(it);  // ended on its own before its turn
      if (auto i = find(from)) children_[*i].current = pid{};
    } else {
      deferred_.push_back([this, from, reason](context& c) { on_exit(c, from, reason); });
    }
    return;
  }
  auto i = find(from);
  if (!i) {
    // Not a child: our parent, or an operator's exit signal. Stop everything and follow.
    if (reason != "normal") shut_down(ctx, reason);
    return;
  }
  entry& c = children_[*i];
  c.current = pid{};
  const bool again = c.spec.restart == restart_type::permanent ||
                     (c.spec.restart == restart_type::transient && reason != "normal" && reason != "shutdown");
  if (!again) {
    if (c.spec.restart == restart_type::temporary) children_.erase(children_.begin() + static_cast<std::ptrdiff_t>(*i));
    return;
  }
  if (!note_restart(ctx)) return;
  restart(ctx, *i);
}

/// Records a restart; false (after starting the shutdown) when it is one too many.
bool supervisor::note_restart(context& ctx) {
  const auto now = ctx.node().now();
  restarts_.push_back(now);
  while (!restarts_.empty() && restarts_.front() < now - flags_.period) restarts_.pop_front();
  if (restarts_.size() <= static_cast<std::size_t>(flags_.intensity)) return true;
  ctx.node().log(fmt::format("supervisor {}: more than {} restarts in {} ms, shutting down", ctx.self(),
                             flags_.intensity, flags_.period.count()));
  shut_down(ctx, "shutdown");
  return false;
}

void supervisor::restart(context& ctx, std::size_t index) {
  std::size_t first = index;
  std::vector<pid> to_stop;
  if (flags_.strategy != restart_strategy::one_for_one) {
    if (flags_.strategy == restart_strategy::one_for_all) first = 0;
    for (std::size_t j = children_.size(); j-- > first;)
      if (children_[j].current) to_stop.push_back(children_[j].current);
  }
  const std::string id = children_[index].spec.id;
  stop_then(ctx, std::move(to_stop), [this, id, first](context& c) {
    // Temporary children stopped for a restart are not restarted.
    for (std::size_t j = children_.size(); j-- > first;)
      if (!children_[j].current && children_[j].spec.restart == restart_type::temporary && children_[j].spec.id != id)
        children_.erase(children_.begin() + static_cast<std::ptrdiff_t>(j));
    start_from(c, first, true);
  });
}

void supervisor::stop_then(context& ctx, std::vector<pid> to_stop, std::function<void(context&)> then) {
  plan_ = stop_plan{std::move(to_stop), 0, pid{}, false, timer_ref{}, std::move(then)};
  stop_next(ctx);
}

void supervisor::stop_next(context& ctx) {
  if (plan_->next < plan_->to_stop.size()) {
    pid p = plan_->to_stop[plan_->next++];
    auto i = find(p);
    auto timeout = i ? children_[*i].spec.shutdown : std::chrono::milliseconds(0);
    if (i) children_[*i].current = pid{};
    plan_->stopping = p;
    plan_->killed = timeout.count() == 0;
    // The timer starts before the signal goes out, so it runs by the time the child hears of it.
    if (!plan_->killed && timeout != std::chrono::milliseconds::max())
      plan_->timer = ctx.node().send_after(timeout, ctx.self(), shutdown_timeout{p});
    ctx.send_exit(p, plan_->killed ? "kill" : "shutdown");
    return;  // its exit_message moves the plan on
  }
  auto then = std::move(plan_->then);
  plan_.reset();
  then(ctx);
  run_deferred(ctx);
}

void supervisor::run_deferred(context& ctx) {
  auto later = std::move(deferred_);
  deferred_.clear();
  for (auto& f : later) {
    if (plan_ || waiting_) {  // a new plan or wait started: the rest waits for it
      deferred_.push_back(std::move(f));
    } else {
      f(ctx);
    }
  }
}

void supervisor::shut_down(context& ctx, std::string reason) {
  std::vector<pid> running;
  for (std::size_t j = children_.size(); j-- > 0;)
    if (children_[j].current) running.push_back(children_[j].current);
  stop_then(ctx, std::move(running), [this, reason](context& c) {
    ended_ = true;
    c.exit(reason);
  });
}

}  // namespace agner
