#include "fleet_link.hpp"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

#include <fmt/format.h>

namespace agner::etop {
namespace {

using clock = std::chrono::steady_clock;

std::atomic<bool> detached{false};  ///< a destructor left a thread blocked on a silent node

double seconds_now() { return std::chrono::duration<double>(clock::now().time_since_epoch()).count(); }

}  // namespace

/// Shared by the owner and the link's thread; whichever lets go last frees it (and the link).
struct fleet_link::state {
  explicit state(target t) : link(std::move(t)) {}
  node_link link;  ///< the link's thread only
  mutable std::mutex mutex;
  mutable std::condition_variable changed;
  std::deque<std::pair<job, clock::time_point>> queued;  ///< with when each was posted
  bool running = false;
  clock::time_point running_since{};  ///< when the running job was posted
  std::deque<apply> done;
  std::exception_ptr failed;  ///< what a job threw, for collect(); the applies before it run first
  std::size_t done_before_failure = 0;
  bool stop = false;
  connection last_status;
  double last_status_at = 0;
  bool last_admin = false;
};

namespace {

void run(const std::shared_ptr<fleet_link::state>& s) {
  std::unique_lock lock(s->mutex);
  for (;;) {
    s->changed.wait(lock, [&] { return s->stop || !s->queued.empty(); });
    if (s->stop) return;
    auto j = std::move(s->queued.front().first);
    s->running = true;
    s->running_since = s->queued.front().second;
    s->queued.pop_front();
    lock.unlock();
    fleet_link::apply a;
    std::exception_ptr failed;
    try {
      a = j(s->link);
    } catch (...) {  // a thread boundary turns an exception into a message for the owner
      failed = std::current_exception();
    }
    const double at = seconds_now();
    connection c = s->link.status(at);
    const bool admin = s->link.admin();
    j = nullptr;  // what it captured goes here, on this thread
    lock.lock();
    if (failed && !s->failed) {
      s->failed = failed;
      s->done_before_failure = s->done.size();
    }
    if (a) s->done.push_back(std::move(a));
    s->running = false;
    s->last_status = std::move(c);
    s->last_status_at = at;
    s->last_admin = admin;
    s->changed.notify_all();
  }
}

}  // namespace

fleet_link::fleet_link(target t) : state_(std::make_shared<state>(std::move(t))) {
  state_->last_status.target = state_->link.status(seconds_now()).target;
  thread_ = std::thread([s = state_] { run(s); });
}

fleet_link::~fleet_link() {
  // The thread holds its own reference to the state: stopping it asks it to leave after its job.
  std::unique_lock lock(state_->mutex);
  state_->stop = true;
  state_->queued.clear();
  state_->changed.notify_all();
  const bool finished = state_->changed.wait_for(lock, std::chrono::milliseconds(200), [&] { return !state_->running; });
  lock.unlock();
  if (finished) thread_.join();  // it sees stop and returns at once
  else {                         // blocked on a silent node: it ends when its read does, or with etop
    detached = true;
    thread_.detach();
  }
}

void fleet_link::post(job j) {
  std::lock_guard lock(state_->mutex);
  state_->queued.emplace_back(std::move(j), clock::now());
  state_->changed.notify_all();
}

std::size_t fleet_link::collect() {
  std::deque<apply> done;
  std::exception_ptr failed;
  std::size_t before = 0;
  {
    std::lock_guard lock(state_->mutex);
    done.swap(state_->done);
    failed = std::exchange(state_->failed, nullptr);
    before = state_->done_before_failure;
  }
  std::size_t ran = 0;
  for (auto& a : done) {
    if (failed && ran == before) std::rethrow_exception(failed);
    a();
    ++ran;
  }
  if (failed) std::rethrow_exception(failed);
  return ran;
}

bool fleet_link::idle() const {
  std::lock_guard lock(state_->mutex);
  return !state_->running && state_->queued.empty();
}

double fleet_link::busy_for() const {
  std::lock_guard lock(state_->mutex);
  std::optional<clock::time_point> since;
  if (state_->running) since = state_->running_since;
  else if (!state_->queued.empty()) since = state_->queued.front().second;
  return since ? std::chrono::duration<double>(clock::now() - *since).count() : 0.0;
}

bool fleet_link::wait_idle(clock::time_point until) const {
  std::unique_lock lock(state_->mutex);
  return state_->changed.wait_until(lock, until, [&] { return !state_->running && state_->queued.empty(); });
}

connection fleet_link::status() const {
  std::lock_guard lock(state_->mutex);
  connection c = state_->last_status;
  const double now = seconds_now();
  const double due = state_->last_status_at + c.retry_in_s;  // when the next attempt may start
  c.retry_in_s = std::max(0.0, due - now);
  // Down, a job running and the retry due: that job is attaching again (every job starts so).
  if (!c.problem.empty() && state_->running && now >= due) {
    const double job_s = std::chrono::duration<double>(state_->running_since.time_since_epoch()).count();
    c.reattaching_s = now - std::max(due, job_s);
  }
  return c;
}

bool fleet_link::left_running() { return detached; }

bool fleet_link::admin() const {
  std::lock_guard lock(state_->mutex);
  return state_->last_admin;
}

double silent_for(const fleet_link& l, double wait_s) {
  const double b = l.busy_for();
  return b >= wait_s ? b : 0.0;
}

void act_on(fleet_link& l, const std::string& name, double wait_s, std::string* notice,
            std::function<void(node_link&, std::string&)> what) {
  const std::string prefix = name.empty() ? "" : name + ": ";
  if (const double b = silent_for(l, wait_s); b > 0) {
    *notice = fmt::format("{}not answering for {:.0f}s, nothing sent", prefix, b);
    return;
  }
  l.post([what = std::move(what), prefix, notice](node_link& link) -> fleet_link::apply {
    std::string said;
    what(link, said);
    return [notice, text = prefix + said] { *notice = text; };
  });
}

std::string short_name(const target& t) {
  std::string name = t.display;
  if (t.host.empty()) {
    name = name.substr(name.rfind('/') + 1);
    if (name.ends_with(".sock") && name.size() > 5) name.resize(name.size() - 5);
  }
  return name;
}

}  // namespace agner::etop
