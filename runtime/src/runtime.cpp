#include "agner/runtime/runtime.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "node_state.hpp"
#include "signals.hpp"

namespace agner {

namespace detail {

std::uint64_t now_ns() noexcept {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

namespace {
runtime_options checked(runtime_options o) {
  if (o.schedulers == 0) o.schedulers = std::max(1u, std::thread::hardware_concurrency());
  if (o.schedulers > 1024) throw std::invalid_argument("schedulers must be at most 1024");
  if (o.process_limit == 0 || o.process_limit > process_table::max_limit)
    throw std::invalid_argument(
        fmt::format("process_limit must be between 1 and {}", process_table::max_limit));
  if (o.slice_reductions == 0) throw std::invalid_argument("slice_reductions must be at least 1");
  if (o.spin_before_park.count() < 0) throw std::invalid_argument("spin_before_park must not be negative");
  if (!o.clock) o.clock = std::make_shared<steady_clock>();
  return o;
}
}  // namespace

node_state::node_state(runtime& r, runtime_options opts)
    : rt(r), options(checked(std::move(opts))), started(options.clock->now()), table(options.process_limit) {}

}  // namespace detail


runtime::runtime(runtime_options options) : impl_(std::make_unique<impl>(*this, std::move(options))) {
  for (unsigned i = 0; i < impl_->options.schedulers; ++i)
    impl_->schedulers.push_back(std::make_unique<detail::scheduler>(*impl_, i));
  for (auto& s : impl_->schedulers) s->start();
  impl_->timers = std::make_unique<detail::timer_service>(
      *impl_, impl_->schedulers.size() + 1, impl_->options.clock);
  impl_->io = std::make_unique<detail::io_service>(*impl_, std::max(1u, impl_->options.blocking_threads));
}

runtime::~runtime() { stop(); }

runtime::stop_summary runtime::stop() {
  auto& n = *impl_;
  check_not_on_scheduler("runtime::stop");
  std::lock_guard once(n.stop_mutex);
  if (n.stopped) return {};
  const auto t0 = std::chrono::steady_clock::now();
  const std::uint32_t live = n.table.live();
  // Schedulers first: their handlers use the timers and ports. Each returns at its next slice end,
  // leaving what is queued. The timer and I/O threads only push into mailboxes, which is harmless
  // once nobody runs them; a later push meets a closed mailbox and is a dead letter.
  n.slice_reductions.store(1, std::memory_order_relaxed);
  n.stopping.store(true, std::memory_order_seq_cst);
  for (auto& s : n.schedulers) s->unpark();
  for (auto& s : n.schedulers) s->join();
  n.io.reset();
  n.timers.reset();
  // Single-threaded but for outside senders from here: end every process still alive.
  std::uint64_t dropped = 0;
  for (std::uint32_t i = 0; i < n.table.high_water(); ++i) {
    detail::process* p = n.table.slot(i);
    if (!p->code) continue;
    const bool locks = p->policy() == detail::mailbox::overflow::drop_oldest;
    if (locks) p->lock_consumer();  // a sender may be trimming it
    message* rest = p->close();
    if (locks) p->unlock_consumer();
    for (message* m = rest; m;) {
      message* next = m->next;
      destroy(m);
      ++dropped;
      m = next;
    }
    p->set_status(process_status::exiting);
    if (p->ext && p->ext->await) p->ext->await->drop();  // a handler suspended in a call, before its behaviour
    delete p->code;
    p->code = nullptr;
    p->ext.reset();  // its heap reports to this node's totals
    p->registered = false;
    p->stop = 0;
    n.table.release(p);
  }
  n.names.clear();
  n.outside_stripe().dead_letters.fetch_add(dropped, std::memory_order_relaxed);
  n.stopped = true;
  return {live, dropped,
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)};
}

pid runtime::spawn_behaviour(std::unique_ptr<behaviour> b, const spawn_options& opts,
                             detail::hooks hooks, detail::scheduler* local, pid link_to) {
  auto& n = *impl_;
  if (admission* gate = n.gates.refuses_spawn(opts.priority)) [[unlikely]]
    throw spawn_error(spawn_error::reason::overloaded,
                      fmt::format("cannot spawn: overloaded (valve {}), retry later", gate->name()));
  if (n.stopping.load(std::memory_order_acquire)) [[unlikely]]
    throw spawn_error(spawn_error::reason::stopped, "cannot spawn: the runtime is stopping or stopped");
  if (!local) local = detail::scheduler::current(n);
  detail::process* p = n.table.acquire();
  if (!p)
    throw spawn_error(spawn_error::reason::system_limit,
                      fmt::format("cannot spawn: the process limit of {} is reached "
                                  "(raise runtime_options::process_limit)",
                                  n.table.limit()));
  n.table.set_kind(p->index, &typeid(*b));
  p->code = b.release();
  const bool init = hooks.init != nullptr;
  if (init) p->extension().init = hooks.init;
  if (hooks.gc || hooks.state_bytes || hooks.describe || opts.max_heap_bytes) {
    auto& x = p->extension();
    x.gc = hooks.gc;
    x.state_bytes = hooks.state_bytes;
    x.describe = hooks.describe;
    x.max_heap_bytes = opts.max_heap_bytes;
  }
  p->memory.minor_gcs.store(0, std::memory_order_relaxed);
  p->memory.major_gcs.store(0, std::memory_order_relaxed);
  p->memory.gc_reclaimed.store(0, std::memory_order_relaxed);
  p->memory.heap_bytes.store(0, std::memory_order_relaxed);
  p->memory.state_bytes.store(0, std::memory_order_relaxed);
  p->reductions.set(0);
  p->received.set(0);
  p->registered = !opts.name.empty();
  p->set_status(init ? process_status::runnable : process_status::waiting);
  if (link_to) {
    p->extension().links.push_back(link_to);
    p->ext->parent = link_to;
  }
  pid id;
  if (opts.name.empty()) {
    id = pid{p->index, p->open(init, opts.max_len, static_cast<detail::mailbox::overflow>(opts.overflow))};
  } else {
    const auto [got, added] = n.names.add(opts.name, p->index, [&] {
      return pid{p->index, p->open(init, opts.max_len, static_cast<detail::mailbox::overflow>(opts.overflow))};
    });
    if (!added) {
      const pid holder = got;
      delete p->code;
      p->code = nullptr;
      p->ext.reset();
      p->registered = false;
      n.table.release(p);
      throw spawn_error(spawn_error::reason::name_taken,
                        fmt::format("cannot spawn: the name '{}' is already registered to {}",
                                    opts.name, holder),
                        holder);
    }
    id = got;
  }
  if (init) n.schedule(p, local);
  return id;
}

void runtime::watch_queues(std::function<void(const queue_event&)> notify) {
  impl_->watch.set_notify(std::move(notify));
}

void runtime::set_queue_watch(std::uint32_t long_len, std::uint32_t short_len, std::uint32_t old_ms, std::uint32_t young_ms) {
  impl_->watch.set(long_len, short_len, old_ms, young_ms);
}

bool runtime::suspend(pid to) {
  return impl_->send_value(to, detail::suspend_signal{true}, detail::scheduler::current(*impl_)) ==
         detail::send_outcome::queued;
}

bool runtime::resume(pid to) {
  return impl_->send_value(to, detail::suspend_signal{false}, detail::scheduler::current(*impl_)) ==
         detail::send_outcome::queued;
}

bool runtime::inspect(pid to, inspect_options options, std::function<void(process_report)> done) {
  return impl_->send_value(to, detail::inspect_signal{options, std::move(done)},
                           detail::scheduler::current(*impl_)) == detail::send_outcome::queued;
}

bool runtime::garbage_collect(pid to) {
  return impl_->send_value(to, detail::gc_signal{}, detail::scheduler::current(*impl_)) ==
         detail::send_outcome::queued;
}

void runtime::exit(pid to, std::string reason) {
  impl_->send_value(to, detail::exit_signal{pid{}, std::move(reason), false},
                    detail::scheduler::current(*impl_));
}

timer_ref runtime::start_timer(clock::duration delay, pid to, message* m) {
  return timer_ref{impl_->timers->start(delay, to, m, detail::scheduler::current(*impl_))};
}

bool runtime::cancel_timer(timer_ref ref) { return impl_->timers->cancel(ref.id); }

clock::time_point runtime::now() const { return impl_->timers->time().now(); }

clock::duration runtime::uptime() const { return impl_->options.clock->now() - impl_->started; }

void runtime::log(std::string_view line) const { impl_->log(line); }

void runtime::check_not_on_scheduler(const char* what) const {
  if (detail::scheduler::current(*impl_))
    throw std::logic_error(fmt::format("{} blocks, so it must not be called from a handler", what));
}

bool runtime::send_message(pid to, message* m) {
  return impl_->send(to, m, detail::scheduler::current(*impl_)) != detail::send_outcome::rejected;
}

void runtime::gate_spawns(admission* gate, std::size_t default_class) {
  impl_->gates.gate_spawns(gate, default_class);
}

void runtime::gate_sends(const std::string& name, admission* gate, std::size_t cls) {
  impl_->gates.gate_sends(name, gate, cls);
}

std::optional<pid> runtime::whereis_admitted(std::string_view name) {
  auto& n = *impl_;
  auto found = n.names.whereis(name);
  if (!found) return std::nullopt;
  if (!n.gates.admits_send(name)) [[unlikely]] {
    n.outside_stripe().sent.fetch_add(1, std::memory_order_relaxed);  // a refused send still counts as sent, and as shed
    n.gates.count_shed();
    return std::nullopt;
  }
  return found;
}

std::optional<pid> runtime::whereis(std::string_view name) const { return impl_->names.whereis(name); }

std::vector<std::pair<std::string, pid>> runtime::registered() const { return impl_->names.registered(); }

void runtime::visit_registered(const std::function<void(std::string_view name, pid id)>& visit) const {
  impl_->names.visit(visit);
}

std::uint32_t runtime::process_count() const noexcept { return impl_->table.live(); }
std::uint32_t runtime::process_limit() const noexcept { return impl_->table.limit(); }
unsigned runtime::scheduler_count() const noexcept {
  return static_cast<unsigned>(impl_->schedulers.size());
}

std::optional<std::string> runtime::exit_reason(pid id) const {
  if (process_info(id)) return std::nullopt;
  return impl_->exits.find(id);
}

std::optional<process_counters> runtime::process_info(pid id) const {
  const detail::process* p = id ? impl_->table.slot(id.index) : nullptr;
  if (!p || p->serial() != id.serial) return std::nullopt;
  process_counters c;
  c.id = id;
  c.reductions = p->reductions.get();
  c.messages_received = p->received.get();
  c.message_queue_len = p->length();
  c.mailbox_bytes = p->bytes();
  c.heap_bytes = p->memory.heap_bytes.load(std::memory_order_relaxed);
  c.state_bytes = p->memory.state_bytes.load(std::memory_order_relaxed);
  c.memory = sizeof(detail::process) + c.mailbox_bytes + c.heap_bytes + c.state_bytes;
  c.minor_gcs = p->memory.minor_gcs.load(std::memory_order_relaxed);
  c.major_gcs = p->memory.major_gcs.load(std::memory_order_relaxed);
  c.gc_reclaimed = p->memory.gc_reclaimed.load(std::memory_order_relaxed);
  if (c.message_queue_len) c.oldest_message_age_ms = detail::age_ms(p->oldest_ms(), detail::coarse_ms());
  c.status = p->status.load(std::memory_order_relaxed);
  if (auto* k = impl_->table.kind(id.index)) c.behaviour = demangle(k->name());
  c.registered_name = impl_->names.name_of(id.index);
  if (p->serial() != id.serial) return std::nullopt;  // died while we read
  return c;
}

void runtime::scan(const std::function<void(const process_sample&)>& visit) const {
  const auto& table = impl_->table;
  const std::uint32_t end = table.high_water();
  const std::uint32_t now_ms = detail::coarse_ms();
  for (std::uint32_t chunk = 0; chunk < end; chunk += detail::process_table::chunk_size) {
    const detail::process* first = table.slot(chunk);
    const std::uint32_t n = std::min(detail::process_table::chunk_size, end - chunk);
    for (std::uint32_t i = 0; i < n; ++i) {
      const detail::process& p = first[i];
      const auto status = p.status.load(std::memory_order_relaxed);
      if (status == process_status::exiting) continue;  // free slot or ending
      process_sample s;
      s.id = pid{p.index, p.serial()};
      s.reductions = p.reductions.get();
      s.messages_received = p.received.get();
      s.message_queue_len = p.length();
      if (s.message_queue_len) s.oldest_message_age_ms = detail::age_ms(p.oldest_ms(), now_ms);
      s.memory = sizeof(detail::process) + p.bytes() + p.memory.heap_bytes.load(std::memory_order_relaxed) +
                 p.memory.state_bytes.load(std::memory_order_relaxed);
      s.gc_runs = p.memory.minor_gcs.load(std::memory_order_relaxed) +
                  p.memory.major_gcs.load(std::memory_order_relaxed);
      s.status = status;
      s.behaviour = table.kind(p.index);
      s.max_len = p.max_len();
      if (p.serial() != s.id.serial) continue;  // reused while we read: skip it this time
      visit(s);
    }
  }
}

message_counters runtime::messages() const noexcept {
  message_counters c;
  for (auto& s : impl_->schedulers) {
    c.sent += s->sent();
    c.delivered += s->delivered();
    c.dead_letters += s->dead_letters();
    c.late_replies += s->late_replies();
    c.unhandled += s->unhandled();
    c.dropped_rejected += s->dropped_rejected();
    c.dropped_newest += s->dropped_newest();
    c.dropped_oldest += s->dropped_oldest();
  }
  for (auto& o : impl_->outside) {
    c.sent += o.sent.load(std::memory_order_relaxed);
    c.dead_letters += o.dead_letters.load(std::memory_order_relaxed);
    c.dropped_rejected += o.dropped_rejected.load(std::memory_order_relaxed);
    c.dropped_newest += o.dropped_newest.load(std::memory_order_relaxed);
    c.dropped_oldest += o.dropped_oldest.load(std::memory_order_relaxed);
  }
  c.dropped = c.dropped_rejected + c.dropped_newest + c.dropped_oldest;
  c.shed = impl_->gates.shed();
  return c;
}

std::vector<scheduler_counters> runtime::schedulers() const {
  std::vector<scheduler_counters> rows;
  rows.reserve(impl_->schedulers.size());
  for (auto& s : impl_->schedulers) rows.push_back(s->counters());
  return rows;
}

gc_counters runtime::gc() const noexcept {
  gc_counters c;
  for (auto& s : impl_->schedulers) {
    c.minor_runs += s->minor_gcs();
    c.major_runs += s->major_gcs();
    c.bytes_reclaimed += s->gc_reclaimed();
  }
  c.heap_bytes = static_cast<std::uint64_t>(std::max<std::int64_t>(0, impl_->heap_bytes.load(std::memory_order_relaxed)));
  return c;
}

port_counters runtime::ports() const noexcept { return impl_->io->counters(); }

std::uint64_t runtime::global_run_queue_length() const noexcept { return impl_->global.size(); }

}  // namespace agner
