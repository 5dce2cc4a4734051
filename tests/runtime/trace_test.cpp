#include <doctest/doctest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "agner/runtime/trace.hpp"
#include "support.hpp"

using namespace agner;
using agner::test::eventually;

namespace {

/// Keeps what it is shown as plain values.
struct recording_sink final : trace_sink {
  struct seen {
    trace_event::kind what;
    pid traced, peer;
    std::string text, reason;
  };
  std::mutex mutex;
  std::vector<seen> events;
  void on_trace(const trace_event& e) noexcept override {
    std::lock_guard lock(mutex);
    events.push_back({e.what, e.traced, e.peer, e.msg ? e.msg->format() : std::string(), std::string(e.reason)});
  }
  std::vector<seen> snapshot() {
    std::lock_guard lock(mutex);
    return events;
  }
};

}  // namespace

TEST_CASE("a trace shows the messages a process receives with their sender, and those it sends") {
  runtime rt(test::two_schedulers());
  std::atomic<int> echoed{0};
  pid sink_proc = rt.spawn_fn([&](context&, message& m) {
    if (m.is<int>()) echoed.fetch_add(1);
  });
  pid echo = rt.spawn_fn([sink_proc](context& ctx, message& m) {
    if (auto* n = m.get<int>()) ctx.send(sink_proc, *n + 100);
  });
  pid sender = rt.spawn_fn([echo](context& ctx, message& m) {
    if (auto* n = m.get<int>()) ctx.send(echo, *n);
  });
  auto sink = std::make_shared<recording_sink>();
  REQUIRE(start_trace(rt, echo, true, sink) == trace_start_result::started);
  CHECK(trace_count(rt) == 1);
  rt.send(sender, 7);  // sender -> echo (received, peer sender) -> sink_proc (sent, peer sink_proc)
  rt.send(echo, 8);    // from outside any process: no peer
  REQUIRE(eventually([&] { return echoed.load() == 2; }));
  auto seen = sink->snapshot();
  REQUIRE(seen.size() == 4);
  int received = 0, sent = 0;
  for (auto& e : seen) {
    CHECK(e.traced == echo);
    if (e.what == trace_event::kind::received) {
      ++received;
      CHECK((e.text == "7" ? e.peer == sender : (e.text == "8" && e.peer == pid{})));
    } else {
      ++sent;
      CHECK(e.peer == sink_proc);
      CHECK((e.text == "107" || e.text == "108"));
    }
  }
  CHECK(received == 2);
  CHECK(sent == 2);
  CHECK(stop_trace(rt, echo, sink.get()));
  CHECK_FALSE(stop_trace(rt, echo, sink.get()));
  rt.send(echo, 9);
  REQUIRE(eventually([&] { return echoed.load() == 3; }));
  CHECK(sink->snapshot().size() == 4);  // nothing after stop_trace
  CHECK(trace_count(rt) == 0);
}

TEST_CASE("a traced process that ends sends one ended event with its reason and frees its trace") {
  runtime rt(test::two_schedulers());
  pid p = rt.spawn_fn([](context& ctx, message& m) {
    if (m.is<std::string>()) ctx.exit(*m.get<std::string>());
  });
  auto sink = std::make_shared<recording_sink>();
  REQUIRE(start_trace(rt, p, false, sink) == trace_start_result::started);
  rt.send(p, std::string("done"));
  REQUIRE(eventually([&] { return trace_count(rt) == 0; }));
  auto seen = sink->snapshot();
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].what == trace_event::kind::received);
  CHECK(seen[1].what == trace_event::kind::ended);
  CHECK(seen[1].reason == "done");
}

TEST_CASE("start_trace refuses a dead process and a trace past the limit") {
  runtime rt(test::two_schedulers());
  pid p = rt.spawn_fn([](context&, message&) {});
  auto sink = std::make_shared<recording_sink>();
  CHECK(start_trace(rt, pid{}, false, sink) == trace_start_result::noproc);
  for (std::size_t i = 0; i < max_traces; ++i) REQUIRE(start_trace(rt, p, false, sink) == trace_start_result::started);
  CHECK(start_trace(rt, p, false, sink) == trace_start_result::full);
  rt.exit(p, "kill");
  REQUIRE(eventually([&] { return trace_count(rt) == 0; }));
  CHECK(start_trace(rt, p, false, sink) == trace_start_result::noproc);
  CHECK(sink->snapshot().size() == max_traces);  // one ended event per trace
}

TEST_CASE("a traced bounded mailbox keeps its bound, during the trace and after it") {
  runtime rt(test::two_schedulers());
  pid p = rt.spawn_fn([](context&, message&) {}, spawn_options{.max_len = 2, .overflow = mailbox_overflow::reject});
  REQUIRE(rt.suspend(p));
  REQUIRE(eventually([&] { return rt.process_info(p)->status == process_status::suspended; }));
  auto sink = std::make_shared<recording_sink>();
  REQUIRE(start_trace(rt, p, false, sink) == trace_start_result::started);
  CHECK(rt.send(p, 1));
  CHECK(rt.send(p, 2));
  CHECK_FALSE(rt.send(p, 3));  // full: rejected, as untraced
  CHECK(sink->snapshot().size() == 3);  // traced as they were offered (docs: a refused one shows too)
  CHECK(stop_trace(rt, p, sink.get()));
  CHECK_FALSE(rt.send(p, 4));
  CHECK(rt.process_info(p)->message_queue_len == 2);
  CHECK(sink->snapshot().size() == 3);
}
