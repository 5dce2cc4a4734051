// A process read by a plain thread. Its scheduler-side half is an ordinary behaviour that hands
// each envelope it is given over to the thread's queue instead of handling it.
#include "agner/runtime/scoped_process.hpp"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>

namespace agner {
namespace detail {

struct scoped_state {
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<message_ptr> inbox;  ///< handed over, not yet received
  bool ended = false;             ///< the process is gone: nothing more will come
};

namespace {

/// Where an envelope being handed over keeps its real type meanwhile.
struct handoff {
  const message_type* real = nullptr;
  scoped_state* state = nullptr;
};

struct handed_over_tag {};

/// The scheduler destroys each envelope once its handler returns. An envelope being handed over
/// wears this type then, whose "destroy" gives it back its real type and queues it for the
/// thread: the hand-over happens after the scheduler's last touch, so the two never race, and the
/// scheduler's loop needs no test for it.
void hand_over(message* m) noexcept {
  auto* h = reinterpret_cast<handoff*>(m->next);
  m->next = nullptr;
  m->type = h->real;
  {
    std::lock_guard lock(h->state->mutex);
    h->state->inbox.emplace_back(m);
  }
  h->state->changed.notify_all();
}

constexpr message_type handed_over{&hand_over, &typeid(handed_over_tag), nullptr, 0, false};

class scoped_inbox final : public behaviour {
 public:
  explicit scoped_inbox(std::shared_ptr<scoped_state> s) : state_(std::move(s)) { slot_.state = state_.get(); }
  ~scoped_inbox() override {
    {
      std::lock_guard lock(state_->mutex);
      state_->ended = true;
    }
    state_->changed.notify_all();
  }
  void init(context& ctx) { ctx.trap_exit(true); }
  void handle(context& ctx, message& m) override {
    if (auto* c = m.get<scoped_command>()) {
      c->work(ctx);
      return;
    }
    // One slot suffices: the scheduler destroys this envelope before it hands this process the next.
    slot_.real = m.type;
    m.next = reinterpret_cast<message*>(&slot_);
    m.type = &handed_over;
  }

 private:
  std::shared_ptr<scoped_state> state_;
  handoff slot_;
};

}  // namespace
}  // namespace detail

scoped_process::scoped_process(runtime& rt, const spawn_options& opts)
    : rt_(rt), state_(std::make_shared<detail::scoped_state>()) {
  rt_.check_not_on_scheduler("scoped_process");
  self_ = rt_.spawn_with<detail::scoped_inbox>(opts, state_);
}

scoped_process::~scoped_process() {
  rt_.send(self_, detail::scoped_command{[](context& ctx) { ctx.exit("normal"); }});
}

message_ptr scoped_process::receive(std::chrono::nanoseconds timeout) {
  std::unique_lock lock(state_->mutex);
  auto ready = [&] { return !state_->inbox.empty() || state_->ended; };
  if (timeout == agner::infinity) {
    state_->changed.wait(lock, ready);
  } else {
    state_->changed.wait_for(lock, std::max(timeout, std::chrono::nanoseconds::zero()), ready);
  }
  if (state_->inbox.empty()) return nullptr;
  message_ptr m = std::move(state_->inbox.front());
  state_->inbox.pop_front();
  return m;
}

void scoped_process::run(std::function<void(context&, const std::function<void()>&)> work) {
  auto finished = std::make_shared<bool>(false);
  std::function<void()> done = [state = state_, finished] {
    {
      std::lock_guard lock(state->mutex);
      *finished = true;
    }
    state->changed.notify_all();
  };
  rt_.send(self_, detail::scoped_command{[work = std::move(work), done](context& ctx) { work(ctx, done); }});
  std::unique_lock lock(state_->mutex);
  state_->changed.wait(lock, [&] { return *finished || state_->ended; });
}

void scoped_process::link(pid other) {
  run([other](context& ctx, const std::function<void()>& done) {
    ctx.link(other);
    done();
  });
}

monitor_ref scoped_process::monitor(pid other) {
  auto ref = std::make_shared<monitor_ref>();
  run([other, ref](context& ctx, const std::function<void()>& done) {
    *ref = ctx.monitor(other);
    done();
  });
  return *ref;
}

void scoped_process::demonitor(monitor_ref ref) {
  run([ref](context& ctx, const std::function<void()>& done) {
    ctx.demonitor(ref);
    done();
  });
  // A DOWN the process had already handed over stays out too, as context::demonitor promises.
  std::lock_guard lock(state_->mutex);
  std::erase_if(state_->inbox, [&](const message_ptr& m) {
    auto* d = m->get<down_message>();
    return d && d->ref == ref;
  });
}

}  // namespace agner
