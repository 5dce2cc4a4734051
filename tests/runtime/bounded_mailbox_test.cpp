#include <doctest/doctest.h>

#include <atomic>
#include <latch>
#include <mutex>
#include <thread>
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
  CHECK(rt.process_info(p)->message_queue_len == 5);  // every policy holds its bound while the owner is busy
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

namespace {

struct payload {
  int value;
  char filler[120];  // a message of some size, so byte accounting is visible
};

/// Bytes one envelope of T occupies in the mailbox accounting.
template <class T>
std::uint64_t envelope_bytes() {
  message* m = make_message<T>(T{});
  const auto bytes = m->bytes();
  destroy(m);
  return bytes;
}

}  // namespace

TEST_CASE("a drop_oldest mailbox holds its bound while its owner is suspended") {
  runtime rt(test::two_schedulers());
  std::atomic<int> handled{0}, last{-1};
  pid p = rt.spawn_fn(
      [&](context&, message& m) {
        if (auto* v = m.get<payload>()) {
          last.store(v->value);
          handled.fetch_add(1);
        }
      },
      spawn_options{.max_len = 100, .overflow = mailbox_overflow::drop_oldest});
  REQUIRE(rt.suspend(p));
  CHECK(eventually([&] { return rt.process_info(p)->status == process_status::suspended; }));
  for (int i = 0; i < 20000; ++i) rt.send(p, payload{i, {}});
  auto info = rt.process_info(p);
  CHECK(info->message_queue_len == 100);
  CHECK(info->mailbox_bytes == 100 * envelope_bytes<payload>());  // the bytes of the dropped ones are gone too
  CHECK(rt.messages().dropped_oldest == 19900);
  CHECK(handled.load() == 0);
  REQUIRE(rt.resume(p));
  CHECK(eventually([&] { return handled.load() == 100; }));
  CHECK(last.load() == 19999);  // the newest were kept
  CHECK(eventually([&] { return rt.process_info(p)->message_queue_len == 0; }));
  CHECK(rt.process_info(p)->mailbox_bytes == 0);
  check_identity(rt);
}

TEST_CASE("a drop_oldest mailbox holds its bound while its owner is inside a long handler") {
  runtime rt(test::two_schedulers());
  held_process h;
  pid p = h.spawn(rt, 100, mailbox_overflow::drop_oldest);
  rt.send(p, 0);
  h.entered.wait();
  for (int i = 1; i <= 10000; ++i) rt.send(p, i);
  CHECK(rt.process_info(p)->message_queue_len == 100);
  CHECK(rt.process_info(p)->mailbox_bytes == 100 * envelope_bytes<int>());
  CHECK(rt.messages().dropped_oldest == 9900);
  h.release.count_down();
  CHECK(eventually([&] { return h.get().size() == 101; }));
  std::vector<int> expected{0};
  for (int i = 9901; i <= 10000; ++i) expected.push_back(i);
  CHECK(h.get() == expected);  // in order, the newest hundred
  CHECK(eventually([&] { return rt.process_info(p)->mailbox_bytes == 0; }));
  check_identity(rt);
}

TEST_CASE("a kill sent to a stuck drop_oldest owner still acts before the messages queued after it") {
  runtime rt(test::two_schedulers());
  held_process h;
  pid p = h.spawn(rt, 10, mailbox_overflow::drop_oldest);
  rt.send(p, 0);
  h.entered.wait();
  rt.exit(p, "kill");
  for (int i = 1; i <= 1000; ++i) rt.send(p, i);  // the senders' trims move the kill into the owner's queue
  CHECK(rt.process_info(p)->message_queue_len == 10);  // the signal counts, and is never the one dropped
  h.release.count_down();
  CHECK(eventually([&] { return rt.process_count() == 0; }));
  CHECK(h.get() == std::vector<int>{0});
  check_identity(rt);
}

TEST_CASE("concurrent senders keep a drop_oldest bound within their number and the accounting exact") {
  runtime rt(test::two_schedulers());
  std::atomic<std::uint64_t> handled{0};
  pid p = rt.spawn_fn([&](context&, message& m) {
    if (m.is<int>()) handled.fetch_add(1);
  }, spawn_options{.max_len = 50, .overflow = mailbox_overflow::drop_oldest});
  constexpr int senders = 4, each = 20000;
  std::vector<std::thread> threads;
  for (int s = 0; s < senders; ++s) {
    threads.emplace_back([&, s] {
      for (int i = 0; i < each; ++i) {
        rt.send(p, i);
        if (s == 0 && i == each / 2) rt.suspend(p);  // half of it against a suspended owner
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(rt.process_info(p)->message_queue_len <= 50 + senders);
  rt.resume(p);
  // An empty queue is not enough: the last message leaves it before its handler counts it. Waiting
  // means the handler has returned.
  CHECK(eventually([&] {
    auto info = rt.process_info(p);
    return info->message_queue_len == 0 && info->status == process_status::waiting;
  }));
  const auto m = rt.messages();
  CHECK(handled.load() + m.dropped_oldest == std::uint64_t{senders} * each);
  check_identity(rt);
}

TEST_CASE("signals that become no message take no place in a bounded mailbox and are not in message_queue_len") {
  // Erlang's message_queue_len counts messages: suspend, resume and a GC request queued at a busy
  // process are bookkeeping, applied when it next looks at its mailbox, and a max_len counts none.
  runtime rt(test::two_schedulers());
  held_process h;
  pid p = h.spawn(rt, 3, mailbox_overflow::reject);
  rt.send(p, 0);
  h.entered.wait();
  for (int i = 0; i < 10; ++i) {
    CHECK(rt.suspend(p));
    CHECK(rt.resume(p));
    CHECK(rt.garbage_collect(p));
  }
  CHECK(rt.process_info(p)->message_queue_len == 0);
  int accepted = 0;
  for (int i = 1; i <= 4; ++i) accepted += rt.send(p, i) ? 1 : 0;
  CHECK(accepted == 3);
  CHECK(rt.process_info(p)->message_queue_len == 3);
  h.release.count_down();
  CHECK(eventually([&] { return h.get().size() == 4 && rt.process_info(p)->message_queue_len == 0; }));
  CHECK(h.get() == std::vector<int>{0, 1, 2, 3});
  check_identity(rt);
}
