#include <doctest/doctest.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "run_queue.hpp"
#include "support.hpp"

using agner::detail::global_run_queue;
using agner::detail::local_run_queue;
using agner::detail::process;

TEST_CASE("the local run queue is FIFO and refuses a push past its capacity") {
  std::vector<process> procs(local_run_queue::capacity + 1);
  local_run_queue q;
  for (std::uint32_t i = 0; i < local_run_queue::capacity; ++i) CHECK(q.push(&procs[i]));
  CHECK_FALSE(q.push(&procs.back()));
  CHECK(q.size() == local_run_queue::capacity);
  for (std::uint32_t i = 0; i < local_run_queue::capacity; ++i) CHECK(q.pop() == &procs[i]);
  CHECK(q.pop() == nullptr);
  CHECK(q.empty());
}

TEST_CASE("stealing takes the older half of another scheduler's queue") {
  std::vector<process> procs(10);
  local_run_queue victim, thief;
  for (auto& p : procs) victim.push(&p);
  process* run = thief.steal_half(victim);
  CHECK(run == &procs[4]);          // five taken; the thief runs the newest of them
  CHECK(thief.size() == 4);         // and keeps the other four queued
  CHECK(victim.size() == 5);
  CHECK(thief.pop() == &procs[0]);
  CHECK(victim.pop() == &procs[5]);
  local_run_queue empty;
  CHECK(thief.steal_half(empty) == nullptr);
}

TEST_CASE("the global queue fills a local queue in batches") {
  std::vector<process> procs(10);
  global_run_queue g;
  for (auto& p : procs) g.push(&p);
  local_run_queue q;
  CHECK(g.pop_into(q, 4) == &procs[0]);
  CHECK(q.size() == 3);
  CHECK(g.size() == 6);
}

TEST_CASE("with an owner and thieves racing, every queued process is taken exactly once") {
  constexpr int total = 200000;
  std::vector<process> procs(64);
  local_run_queue owner_q;
  std::vector<local_run_queue> thief_q(2);
  std::atomic<int> taken{0};
  std::atomic<bool> done{false};
  std::vector<std::atomic<int>> seen(procs.size());
  auto take = [&](process* p) {
    seen[static_cast<std::size_t>(p - procs.data())].fetch_add(1, std::memory_order_relaxed);
    taken.fetch_add(1, std::memory_order_relaxed);
  };
  std::vector<std::thread> thieves;
  for (auto& mine : thief_q)
    thieves.emplace_back([&] {
      while (!done.load(std::memory_order_acquire)) {
        if (process* p = mine.steal_half(owner_q)) {
          take(p);
          while (process* q = mine.pop()) take(q);
        }
      }
    });
  // The owner hands out each process once per round and takes it back when all are returned.
  int pushed = 0;
  while (pushed < total) {
    for (auto& p : procs) {
      if (pushed == total) break;
      while (!owner_q.push(&p))
        if (process* q = owner_q.pop()) take(q);
      ++pushed;
    }
    while (process* q = owner_q.pop()) take(q);
  }
  CHECK(agner::test::eventually([&] { return taken.load() >= total; }));  // none lost
  done.store(true, std::memory_order_release);
  for (auto& t : thieves) t.join();
  CHECK(taken.load() == total);
  int sum = 0;
  for (auto& s : seen) sum += s.load();
  CHECK(sum == total);
}
