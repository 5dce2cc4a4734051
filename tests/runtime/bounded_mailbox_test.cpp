#include <doctest/doctest.h>

#include <atomic>
#include <latch>
#include <mutex>
#include <vector>

#include "support.hpp"

using namespace agner;
using agner::test::eventually;

namespace {

/// A process whose first message holds it (so the rest queue up) until `release` opens.
struct held_process {
  std::latch entered{1}, release{1};
  std::mutex mutex;
  std::vector<int> handled;
  pid spawn(runtime& rt, std::uint32_t max_len, mailbox_overflow policy) {
    return rt.spawn_fn(
        [this](context&, message& m) {
          auto* v = m.get<int>();
          if (!v) return;
          if (*v == 0) {
            entered.count_down();
            release.wait();
          }
          std::lock_guard lock(mutex);
          handled.push_back(*v);
        },
        spawn_options{.max_len = max_len, .overflow = policy});
  }
  std::vector<int> get() {
    std::lock_guard lock(mutex);
    return handled;
  }
};

void check_identity(runtime& rt) {
  const auto m = rt.messages();
  CHECK(m.sent == m.delivered + m.dropped + m.dead_letters);
}

}  // namespace

/// Holds a process with a mailbox of 5 on its first message, offers it ten more, lets it go and
/// returns how many sends were accepted and the values it handled.
static std::pair<int, std::vector<int>> offer_ten(runtime& rt, mailbox_overflow policy) {
  held_process h;
  pid p = h.spawn(rt, 5, policy);
  rt.send(p, 0);
  h.entered.wait();
  int accepted = 0;
  for (int i = 1; i <= 10; ++i) accepted += rt.send(p, i) ? 1 : 0;
  CHECK(rt.process_info(p)->message_queue_len == (policy == mailbox_overflow::drop_oldest ? 10 : 5));
  h.release.count_down();
  CHECK(eventually([&] { return h.get().size() == 6 && rt.process_info(p)->message_queue_len == 0; }));
  return {accepted, h.get()};
}

TEST_CASE("a full mailbox with policy reject refuses the message and tells the sender") {
  runtime rt(test::two_schedulers());
  auto [accepted, handled] = offer_ten(rt, mailbox_overflow::reject);
  CHECK(accepted == 5);
  CHECK(handled == std::vector<int>{0, 1, 2, 3, 4, 5});
  const auto m = rt.messages();
  CHECK(m.dropped_rejected == 5);
  CHECK(m.dropped == 5);
  check_identity(rt);
}

TEST_CASE("a full mailbox with policy drop_newest drops the new message quietly") {
  runtime rt(test::two_schedulers());
  auto [accepted, handled] = offer_ten(rt, mailbox_overflow::drop_newest);
  CHECK(accepted == 10);
  CHECK(handled == std::vector<int>{0, 1, 2, 3, 4, 5});
  CHECK(rt.messages().dropped_newest == 5);
  check_identity(rt);
}

TEST_CASE("a full mailbox with policy drop_oldest keeps the newest messages") {
  runtime rt(test::two_schedulers());
  auto [accepted, handled] = offer_ten(rt, mailbox_overflow::drop_oldest);
  CHECK(accepted == 10);
  CHECK(handled == std::vector<int>{0, 6, 7, 8, 9, 10});
  CHECK(rt.messages().dropped_oldest == 5);
  check_identity(rt);
}

TEST_CASE("signals get through a full mailbox") {
  runtime rt(test::two_schedulers());
  held_process h;
  pid p = h.spawn(rt, 1, mailbox_overflow::reject);
  rt.send(p, 0);
  h.entered.wait();
  CHECK(rt.send(p, 1));
  CHECK_FALSE(rt.send(p, 2));
  rt.exit(p, "kill");  // an exit signal: not refused
  h.release.count_down();
  CHECK(eventually([&] { return rt.process_count() == 0; }));
  // The kill acts when it arrives, so the queued 1 may die unhandled with the process.
  CHECK(h.get().front() == 0);
  CHECK(h.get().size() <= 2);
  check_identity(rt);
}
