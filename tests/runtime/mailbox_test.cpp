#include <doctest/doctest.h>

#include <thread>
#include <vector>

#include "mailbox.hpp"

using agner::destroy;
using agner::make_message;
using agner::message;
using agner::detail::mailbox;

namespace {
int value_of(message* m) { return *m->get<int>(); }
/// A message type the runtime treats as a signal.
struct urgent {
  static constexpr bool agner_signal = true;
  int v;
};
/// What the owner does: take new arrivals into its queue when the queue runs dry, then pop.
message* take_next(mailbox& box) {
  if (message* m = box.pop()) return m;
  box.absorb([](message*) { return false; });
  return box.pop();
}
}  // namespace

TEST_CASE("a mailbox hands messages to its owner in the order they were pushed") {
  mailbox box;
  box.open(/*runnable=*/true);
  for (int i = 0; i < 5; ++i) box.push(make_message<int>(i));
  for (int i = 0; i < 3; ++i) {
    message* m = take_next(box);
    REQUIRE(m);
    CHECK(value_of(m) == i);
    destroy(m);
  }
  box.push(make_message<int>(5));  // arrives behind the ones already taken into the owner's cache
  for (int i = 3; i < 6; ++i) {
    message* m = take_next(box);
    REQUIRE(m);
    CHECK(value_of(m) == i);
    destroy(m);
  }
  CHECK(take_next(box) == nullptr);
}

TEST_CASE("absorb lets the owner act on signals as they arrive and queues the rest in order") {
  mailbox box;
  box.open(true);
  for (int i = 0; i < 6; ++i) box.push(i % 2 ? make_message<int>(i) : make_message<urgent>(urgent{i}));
  std::vector<int> early;
  CHECK(box.absorb([&](message* m) {
    early.push_back(m->get<urgent>()->v);
    if (early.size() == 3) return false;  // the last one it leaves in the queue
    destroy(m);
    return true;
  }));
  CHECK(early == std::vector<int>{0, 2, 4});
  CHECK(box.length() == 4);
  for (int want : {1, 3, 4, 5}) {
    message* m = box.pop();
    REQUIRE(m);
    CHECK((m->is<int>() ? *m->get<int>() : m->get<urgent>()->v) == want);
    destroy(m);
  }
  CHECK_FALSE(box.absorb([](message*) { return false; }));
}

TEST_CASE("a push into an idle mailbox wakes its owner exactly once") {
  mailbox box;
  box.open(/*runnable=*/false);
  CHECK(box.push(make_message<int>(1)) == mailbox::push_result::woke_owner);
  CHECK(box.push(make_message<int>(2)) == mailbox::push_result::queued);
  CHECK_FALSE(box.try_block());  // messages are waiting: the owner must not go idle
  destroy(take_next(box));
  destroy(take_next(box));
  CHECK(box.try_block());
  CHECK(box.push(make_message<int>(3)) == mailbox::push_result::woke_owner);
  destroy(take_next(box));
}

TEST_CASE("a closed mailbox rejects new messages and hands back what was queued") {
  mailbox box;
  const auto serial = box.open(true);
  box.push(make_message<int>(1));
  box.push(make_message<int>(2));
  destroy(take_next(box));  // 2 is now in the owner's cache, 3 still on the stack
  box.push(make_message<int>(3));
  message* rest = box.close();
  REQUIRE(rest);
  CHECK(value_of(rest) == 2);
  REQUIRE(rest->next);
  CHECK(value_of(rest->next) == 3);
  CHECK(rest->next->next == nullptr);
  destroy(rest->next);
  destroy(rest);
  CHECK(box.serial() == serial + 1);  // the old owner's pids no longer match
  message* late = make_message<int>(4);
  CHECK(box.push(late) == mailbox::push_result::closed);
  destroy(late);
  CHECK(box.length() == 0);
}

TEST_CASE("mailbox length counts pushed and not yet popped") {
  mailbox box;
  box.open(true);
  CHECK(box.length() == 0);
  for (int i = 0; i < 4; ++i) box.push(make_message<int>(i));
  CHECK(box.length() == 4);
  destroy(take_next(box));
  CHECK(box.length() == 3);
  for (message* m = box.close(); m;) {
    message* next = m->next;
    destroy(m);
    m = next;
  }
  CHECK(box.length() == 0);
}

TEST_CASE("mailbox bytes count the envelopes queued, whatever their size") {
  struct big {
    char data[1000];
  };
  mailbox box;
  box.open(true);
  message* small = make_message<int>(1);
  message* large = make_message<big>();
  const auto small_bytes = small->bytes(), large_bytes = large->bytes();
  CHECK(small_bytes >= sizeof(agner::typed_message<int>));
  CHECK(large_bytes >= 1000);
  box.push(small);
  box.push(large);
  CHECK(box.bytes() == small_bytes + large_bytes);
  destroy(take_next(box));
  CHECK(box.bytes() == large_bytes);
  CHECK(box.length() == 1);
  destroy(take_next(box));
  CHECK(box.bytes() == 0);
}

TEST_CASE("concurrent producers each keep their order in one mailbox") {
  struct item {
    int producer;
    int seq;
  };
  constexpr int producers = 4, per_producer = 50000;
  mailbox box;
  box.open(true);
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p)
    threads.emplace_back([&, p] {
      for (int i = 0; i < per_producer; ++i) box.push(make_message<item>(item{p, i}));
    });
  std::vector<int> next(producers, 0);
  int received = 0, out_of_order = 0;
  while (received < producers * per_producer) {
    message* m = take_next(box);
    if (!m) continue;
    item* it = m->get<item>();
    if (it->seq != next[it->producer]) ++out_of_order;
    next[it->producer] = it->seq + 1;
    ++received;
    destroy(m);
  }
  for (auto& t : threads) t.join();
  CHECK(out_of_order == 0);
  CHECK(box.length() == 0);
}
