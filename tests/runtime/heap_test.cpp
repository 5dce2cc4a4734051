#include <doctest/doctest.h>

#include <memory_resource>
#include <string>
#include <vector>

#include "support.hpp"

using namespace agner;
using agner::test::eventually;

TEST_CASE("a heap counts live bytes and a sweep releases only chunks with nothing live") {
  heap h;
  std::pmr::polymorphic_allocator<std::byte> alloc(&h);
  CHECK(h.size() == 0);
  std::vector<void*> small;
  for (int i = 0; i < 100; ++i) small.push_back(alloc.allocate_bytes(1000, 8));  // ~4 chunks
  CHECK(h.live() == 100'000);
  CHECK(h.size() == 4 * heap::chunk_bytes);
  void* big = alloc.allocate_bytes(100'000, 16);  // its own block: 4 chunks' worth
  CHECK(h.size() == 8 * heap::chunk_bytes);
  // Free the first 40 (the two oldest chunks hold 32 each; the third is now partly free).
  for (int i = 0; i < 40; ++i) alloc.deallocate_bytes(small[i], 1000, 8);
  CHECK(h.sweep(true) == heap::chunk_bytes);  // only the oldest chunk is empty
  alloc.deallocate_bytes(big, 100'000, 16);
  CHECK(h.sweep(true) == 4 * heap::chunk_bytes);
  for (int i = 40; i < 100; ++i) alloc.deallocate_bytes(small[i], 1000, 8);
  CHECK(h.live() == 0);
  CHECK(h.sweep(true) == 2 * heap::chunk_bytes);  // the chunk being filled stays
  CHECK(h.size() == heap::chunk_bytes);
  CHECK(h.sweep(false) == heap::chunk_bytes);
  CHECK(h.size() == 0);
}

TEST_CASE("a block made for one big object takes no small ones, even when it is the only block") {
  heap h;
  std::pmr::polymorphic_allocator<std::byte> alloc(&h);
  void* big = alloc.allocate_bytes(100'000, 8);  // the first block: it would be the one being filled
  std::vector<void*> small;
  for (int i = 0; i < 100; ++i) small.push_back(alloc.allocate_bytes(1000, 8));
  CHECK(h.live() == 200'000);
  for (void* p : small) alloc.deallocate_bytes(p, 1000, 8);
  CHECK(h.live() == 100'000);
  CHECK(h.sweep(false) == 4 * heap::chunk_bytes);  // the small ones' chunks, not the big block
  alloc.deallocate_bytes(big, 100'000, 8);
  CHECK(h.sweep(false) == 4 * heap::chunk_bytes);
  CHECK(h.size() == 0);
}

TEST_CASE("a heap refuses to grow past its maximum, after trying to sweep") {
  heap h(3 * heap::chunk_bytes);
  std::pmr::polymorphic_allocator<std::byte> alloc(&h);
  void* a = alloc.allocate_bytes(20'000, 8);
  void* b = alloc.allocate_bytes(20'000, 8);
  void* c = alloc.allocate_bytes(20'000, 8);
  CHECK(h.size() == 3 * heap::chunk_bytes);
  alloc.deallocate_bytes(a, 20'000, 8);      // the oldest chunk is empty: growing can reuse it
  void* d = alloc.allocate_bytes(20'000, 8);
  CHECK_FALSE(h.passed_max());
  CHECK_THROWS_AS((void)alloc.allocate_bytes(20'000, 8), max_heap_error);
  CHECK(h.passed_max());
  alloc.deallocate_bytes(b, 20'000, 8);
  alloc.deallocate_bytes(c, 20'000, 8);
  alloc.deallocate_bytes(d, 20'000, 8);
}

namespace {

struct grow {
  int items;  // appends this many 1 KiB strings
};
struct shrink {
  std::size_t keep;  // drops all but the first `keep`
};
struct sleep_now {};
struct allocate_block {
  std::size_t bytes;
};

/// Keeps a list of strings in its heap; compacts on gc.
class hoarder final : public behaviour {
 public:
  void init(context& ctx) { ctx.heap().move_in(items_); }
  void handle(context& ctx, message& m) override {
    if (auto* g = m.get<grow>())
      for (int i = 0; i < g->items; ++i) items_.emplace_back(1024, 'x');
    if (auto* s = m.get<shrink>()) {
      items_.resize(s->keep);
      items_.shrink_to_fit();
    }
    if (m.is<sleep_now>()) ctx.hibernate();
    if (auto* b = m.get<allocate_block>()) blocks_.emplace_back(b->bytes, &ctx.heap());
  }
  void gc(heap& fresh) {
    fresh.move_in(items_);
    for (auto& b : blocks_) fresh.move_in(b);
  }
  std::size_t state_bytes() const { return 4096; }

 private:
  std::pmr::vector<std::pmr::string> items_;
  std::vector<std::pmr::vector<char>> blocks_;
};

/// Monitors `target`, then sends it a block that fits; records the DOWN.
class watcher final : public behaviour {
 public:
  struct seen {
    std::atomic<int> count{0};
    std::string reason;  // written before count
  };
  watcher(pid target, seen& s) : target_(target), seen_(s) {}
  void init(context& ctx) {
    ctx.monitor(target_);
    ctx.send(target_, allocate_block{100'000});
  }
  void handle(context&, message& m) override {
    if (auto* d = m.get<down_message>()) {
      seen_.reason = d->reason;
      seen_.count.fetch_add(1);
    }
  }

 private:
  pid target_;
  seen& seen_;
};

process_counters settled(runtime& rt, pid p, std::uint64_t handled) {
  REQUIRE(eventually([&] {
    auto i = rt.process_info(p);
    return i && i->messages_received >= handled && i->status == process_status::waiting;
  }));
  return *rt.process_info(p);
}

}  // namespace

TEST_CASE("a hibernated process's memory falls and its GC counters move") {
  runtime rt(test::two_schedulers());
  pid p = rt.spawn<hoarder>();
  rt.send(p, grow{200});  // ~200 KiB: passes the first target, so collections run
  auto big = settled(rt, p, 1);
  CHECK(big.heap_bytes >= 200 * 1024);
  CHECK(big.state_bytes == 4096);
  CHECK(big.memory == 128 + big.heap_bytes + big.state_bytes);
  rt.send(p, shrink{2});
  rt.send(p, sleep_now{});
  auto small = settled(rt, p, 3);
  CHECK(small.major_gcs > big.major_gcs);
  CHECK(small.heap_bytes <= heap::chunk_bytes);  // two strings left, compacted into one chunk
  CHECK(small.memory < big.memory / 4);
  CHECK(small.gc_reclaimed >= big.heap_bytes - small.heap_bytes);
  auto node = rt.gc();
  CHECK(node.major_runs >= small.major_gcs);
  CHECK(node.bytes_reclaimed >= small.gc_reclaimed);
  CHECK(node.heap_bytes == small.heap_bytes);
}

TEST_CASE("a heap that passes its target is collected automatically, minor runs first") {
  runtime rt(test::two_schedulers());
  pid p = rt.spawn<hoarder>();
  // Grow, then free most of it: the emptied chunks are released by a minor run.
  for (int round = 0; round < 20; ++round) {
    rt.send(p, grow{100});
    rt.send(p, shrink{0});
  }
  auto c = settled(rt, p, 40);
  CHECK(c.minor_gcs > 0);
  CHECK(c.gc_reclaimed > 0);
  CHECK(c.heap_bytes < 4 * 100 * 1024);  // not 20 rounds' worth: collections gave it back
}

TEST_CASE("rounds of growth, trimming and hibernation keep every heap byte accounted for") {
  test::captured_log logs;
  runtime_options o = test::two_schedulers();
  o.log = logs.sink();
  runtime rt(o);
  pid p = rt.spawn<hoarder>();
  std::uint64_t handled = 0;
  for (int round = 0; round < 6; ++round) {
    rt.send(p, grow{300});
    rt.send(p, shrink{75});
    rt.send(p, sleep_now{});
    handled += 3;
    auto c = settled(rt, p, handled);
    CHECK(c.heap_bytes <= 3 * heap::chunk_bytes);  // 75 KiB left, compacted
  }
  CHECK(logs.snapshot().empty());  // nothing stranded, nothing killed
}

TEST_CASE("garbage_collect(pid) runs a major collection between handlers") {
  runtime rt(test::two_schedulers());
  pid p = rt.spawn<hoarder>();
  rt.send(p, grow{100});
  rt.send(p, shrink{1});
  auto before = settled(rt, p, 2);
  CHECK(rt.garbage_collect(p));
  REQUIRE(eventually([&] { return rt.process_info(p)->major_gcs > before.major_gcs; }));
  CHECK(rt.process_info(p)->heap_bytes < before.heap_bytes);
  CHECK_FALSE(rt.garbage_collect(pid{}));
}

TEST_CASE("max_heap_bytes kills the process with reason max_heap, logged") {
  test::captured_log logs;
  runtime_options o = test::two_schedulers();
  o.log = logs.sink();
  runtime rt(o);
  spawn_options limited;
  limited.max_heap_bytes = 256 * 1024;
  pid p = rt.spawn_with<hoarder>(limited);
  watcher::seen down;
  rt.spawn<watcher>(p, down);  // monitors p, then sends it a 100 KiB block, which fits
  settled(rt, p, 1);
  CHECK(rt.process_info(p)->heap_bytes >= 100'000);
  rt.send(p, allocate_block{200'000});  // does not
  REQUIRE(eventually([&] { return down.count.load() == 1; }));
  CHECK(down.reason == "max_heap");
  auto lines = logs.snapshot();
  REQUIRE(lines.size() == 1);
  CHECK(lines[0] == fmt::format("process {} killed: its heap needed more than max_heap_bytes (262144 bytes)", p));
  // Its heap goes with it, after the DOWN is sent: wait for the end of its exit bookkeeping
  // (the watcher lives on), not for the DOWN.
  REQUIRE(eventually([&] { return rt.process_count() == 1; }));
  CHECK(rt.gc().heap_bytes == 0);
}

namespace {
/// Its gc hook forgets one member: that member's data must stay valid where it is.
class forgetful final : public behaviour {
 public:
  explicit forgetful(std::atomic<std::size_t>& sum) : sum_(sum) {}
  void init(context& ctx) {
    ctx.heap().move_in(kept_);
    ctx.heap().move_in(forgotten_);
  }
  void handle(context&, message& m) override {
    if (auto* n = m.get<int>()) {
      kept_.push_back(*n);
      forgotten_.push_back(*n);
      std::size_t s = 0;
      for (int v : forgotten_) s += static_cast<std::size_t>(v);
      sum_.store(s);
    }
  }
  void gc(heap& fresh) { fresh.move_in(kept_); }

 private:
  std::atomic<std::size_t>& sum_;
  std::pmr::vector<int> kept_;
  std::pmr::vector<int> forgotten_;
};
}  // namespace

TEST_CASE("data a gc hook leaves in the old heap stays valid, and the slip is logged") {
  test::captured_log logs;
  runtime_options o = test::two_schedulers();
  o.log = logs.sink();
  runtime rt(o);
  std::atomic<std::size_t> sum{0};
  pid p = rt.spawn<forgetful>(sum);
  rt.send(p, 1);
  REQUIRE(eventually([&] { return sum.load() == 1; }));
  rt.garbage_collect(p);
  rt.send(p, 2);
  REQUIRE(eventually([&] { return sum.load() == 3; }));  // the forgotten vector still works
  auto lines = logs.snapshot();
  REQUIRE(lines.size() == 1);
  CHECK(lines[0] == fmt::format("process {}: its gc hook left 4 live bytes in the old heap; they stay there", p));
  CHECK(rt.process_info(p)->heap_bytes == 2 * heap::chunk_bytes);  // fresh heap + the stranded one
}

#include "agner/runtime/binary.hpp"

TEST_CASE("a binary sent to many processes is stored once and counted once, until the last holder drops it") {
  const std::uint64_t base = binary::shared_bytes();
  runtime rt(test::two_schedulers());
  std::atomic<int> holding{0};
  std::vector<pid> holders;
  for (int i = 0; i < 10; ++i)
    holders.push_back(rt.spawn_fn([&, kept = binary()](context& ctx, message& m) mutable {
      if (auto* b = m.get<binary>()) {
        kept = std::move(*b);  // the message's copy goes now, not after the handler returns
        holding.fetch_add(1);
      } else {
        ctx.exit();
      }
    }));
  {
    binary payload(std::string(100'000, 'z'));
    CHECK(binary::shared_bytes() == base + 100'000);
    for (pid h : holders) rt.send(h, payload);
    REQUIRE(eventually([&] { return holding.load() == 10; }));
    CHECK(payload.use_count() == 11);
    CHECK(binary::shared_bytes() == base + 100'000);
  }
  for (pid h : holders) rt.send(h, 0);
  REQUIRE(eventually([&] { return rt.process_count() == 0; }));
  CHECK(binary::shared_bytes() == base);
}
