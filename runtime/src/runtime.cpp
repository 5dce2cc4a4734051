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

std::string_view to_string(process_status s) {
  switch (s) {
    case process_status::waiting: return "waiting";
    case process_status::runnable: return "runnable";
    case process_status::running: return "running";
    case process_status::garbage_collecting: return "garbage_collecting";
    case process_status::suspended: return "suspended";
    case process_status::exiting: return "exiting";
  }
  return "unknown";
}

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
  return o;
}
}  // namespace

node_state::node_state(runtime& r, runtime_options opts)
    : rt(r), options(checked(std::move(opts))), table(options.process_limit) {}

send_outcome node_state::refused(process* p, message* m, scheduler* local) {
  const bool rejected = p->policy() == mailbox::overflow::reject;
  destroy(m);
  if (local) {
    local->count_refused(rejected);
  } else {
    auto& o = outside_stripe();
    (rejected ? o.dropped_rejected : o.dropped_newest).fetch_add(1, std::memory_order_relaxed);
  }
  return rejected ? send_outcome::rejected : send_outcome::dropped;
}

send_outcome node_state::send_otherwise(mailbox::push_result pushed, process* p, pid to, message* m,
                                        std::uint32_t sent_ms, scheduler* local) {
  switch (pushed) {
    case mailbox::push_result::closed: return dead_letter(m, local);
    case mailbox::push_result::full: return refused(p, m, local);
    case mailbox::push_result::woke_owner_past_bound:
      p->note_oldest(sent_ms);
      trim(p, to.serial, local);  // before the owner can run: the lock is free
      if (watching.load(std::memory_order_relaxed)) watch_on_send(p, to, sent_ms, true);
      schedule(p, local);
      return send_outcome::queued;
    case mailbox::push_result::queued_past_bound:
      trim(p, to.serial, local);
      if (watching.load(std::memory_order_relaxed)) watch_on_send(p, to, sent_ms, false);
      return send_outcome::queued;
    case mailbox::push_result::queued:
    case mailbox::push_result::woke_owner: break;  // handled inline by send()
  }
  return send_outcome::queued;
}

void node_state::trim(process* p, std::uint32_t serial, scheduler* local) {
  std::uint64_t dropped = 0;
  p->trim_as_sender(serial, [&](message* m) {
    destroy(m);
    ++dropped;
  });
  if (!dropped) return;
  if (local) {
    local->count_dropped_oldest(dropped);
  } else {
    outside_stripe().dropped_oldest.fetch_add(dropped, std::memory_order_relaxed);
  }
}

send_outcome node_state::dead_letter(message* m, scheduler* local) {
  destroy(m);
  if (local) {
    local->count_dead_letter();
  } else {
    outside_stripe().dead_letters.fetch_add(1, std::memory_order_relaxed);
  }
  return send_outcome::dead_letter;
}

void node_state::schedule(process* p, scheduler* local) {
  p->set_status(process_status::runnable);
  if (local) {
    local->run_next(p);
  } else {
    global.push(p);
    notify_work();
  }
}

void node_state::notify_work() noexcept {
  store_load_barrier(sleeping);
  if (spinning.load(std::memory_order_relaxed) != 0 || sleeping.load(std::memory_order_relaxed) == 0)
    return;
  unsigned none = 0;
  if (!spinning.compare_exchange_strong(none, 1, std::memory_order_seq_cst)) return;
  for (auto& s : schedulers)
    if (s->unpark()) return;  // it starts out counted as spinning
  spinning.fetch_sub(1, std::memory_order_seq_cst);
}

void node_state::log(std::string_view line) const {
  if (options.log) {
    options.log(line);
  } else {
    std::string text = fmt::format("agner: {}\n", line);
    std::fwrite(text.data(), 1, text.size(), stderr);
  }
}

std::string node_state::name_of_process(std::uint32_t index) const {
  std::shared_lock lock(registry_mutex);
  auto it = name_of.find(index);
  return it == name_of.end() ? std::string() : it->second;
}

void node_state::unregister(std::uint32_t index) {
  std::unique_lock lock(registry_mutex);
  auto it = name_of.find(index);
  if (it == name_of.end()) return;
  names.erase(it->second);
  name_of.erase(it);
}

void node_state::watch_on_send(process* p, pid to, std::uint32_t now_ms, bool woke) {
  const std::uint8_t flags = p->watch_flags();
  if (const auto long_len = watch_long.load(std::memory_order_relaxed); long_len && !(flags & mailbox::watch_long)) {
    const auto len = p->length();
    if (len >= long_len && p->raise_watch_flag(mailbox::watch_long)) watch_notify({to, queue_event::kind::long_queue, len});
  }
  if (const auto old_ms = watch_old_ms.load(std::memory_order_relaxed); old_ms && !(flags & mailbox::watch_old)) {
    const auto age = age_ms(p->oldest_ms(), now_ms);
    if (age >= old_ms && p->length() > (woke ? 1u : 0u) && p->raise_watch_flag(mailbox::watch_old))
      watch_notify({to, queue_event::kind::old_message, age});
  }
}

void node_state::watch_on_owner(process* p, std::uint32_t now_ms, bool ending) {
  const std::uint8_t flags = p->watch_flags();
  if (!flags) return;
  const pid who{p->index, p->serial()};
  if (flags & mailbox::watch_long) {
    const auto len = ending ? 0 : p->length();
    if (len <= watch_short.load(std::memory_order_relaxed) && p->drop_watch_flag(mailbox::watch_long))
      watch_notify({who, queue_event::kind::short_again, len});
  }
  if (flags & mailbox::watch_old) {
    const auto age = ending || p->length() == 0 ? 0 : age_ms(p->oldest_ms(), now_ms);
    if (age <= watch_young_ms.load(std::memory_order_relaxed) && p->drop_watch_flag(mailbox::watch_old))
      watch_notify({who, queue_event::kind::young_again, age});
  }
}

outside_counters& node_state::outside_stripe() noexcept {
  thread_local const std::size_t stripe = std::hash<std::thread::id>{}(std::this_thread::get_id());
  return outside[stripe % outside.size()];
}

}  // namespace detail


runtime::runtime(runtime_options options) : impl_(std::make_unique<impl>(*this, std::move(options))) {
  for (unsigned i = 0; i < impl_->options.schedulers; ++i)
    impl_->schedulers.push_back(std::make_unique<detail::scheduler>(*impl_, i));
  for (auto& s : impl_->schedulers) s->start();
  impl_->timers = std::make_unique<detail::timer_service>(
      *impl_, impl_->options.clock ? impl_->options.clock : std::make_shared<steady_clock>());
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
  {
    std::unique_lock lock(n.registry_mutex);
    n.names.clear();
    n.name_of.clear();
  }
  n.outside_stripe().dead_letters.fetch_add(dropped, std::memory_order_relaxed);
  n.stopped = true;
  return {live, dropped,
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)};
}

pid runtime::spawn_behaviour(std::unique_ptr<behaviour> b, const spawn_options& opts,
                             detail::hooks hooks, detail::scheduler* local, pid link_to) {
  auto& n = *impl_;
  if (admission* gate = n.spawn_gate.load(std::memory_order_acquire)) [[unlikely]] {
    const std::size_t cls = opts.priority >= 0 ? static_cast<std::size_t>(opts.priority)
                                               : n.spawn_default_class.load(std::memory_order_relaxed);
    if (!gate->admit(cls))
      throw spawn_error(spawn_error::reason::overloaded,
                        fmt::format("cannot spawn: overloaded (valve {}), retry later", gate->name()));
  }
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
    std::unique_lock lock(n.registry_mutex);
    if (auto it = n.names.find(opts.name); it != n.names.end()) {
      pid holder = it->second;
      lock.unlock();
      delete p->code;
      p->code = nullptr;
      p->ext.reset();
      p->registered = false;
      n.table.release(p);
      throw spawn_error(spawn_error::reason::name_taken,
                        fmt::format("cannot spawn: the name '{}' is already registered to {}",
                                    opts.name, holder));
    }
    id = pid{p->index, p->open(init, opts.max_len, static_cast<detail::mailbox::overflow>(opts.overflow))};
    n.names.emplace(opts.name, id);
    n.name_of.emplace(p->index, opts.name);
  }
  if (init) n.schedule(p, local);
  return id;
}

void runtime::watch_queues(std::function<void(const queue_event&)> notify) {
  impl_->watch_notify = std::move(notify);
}

void runtime::set_queue_watch(std::uint32_t long_len, std::uint32_t short_len, std::uint32_t old_ms, std::uint32_t young_ms) {
  auto& n = *impl_;
  if (!n.watch_notify) throw std::logic_error("set_queue_watch before watch_queues");
  n.watch_long.store(long_len, std::memory_order_relaxed);
  n.watch_short.store(std::min(short_len, long_len ? long_len - 1 : 0u), std::memory_order_relaxed);
  n.watch_old_ms.store(old_ms, std::memory_order_relaxed);
  n.watch_young_ms.store(std::min(young_ms, old_ms ? old_ms - 1 : 0u), std::memory_order_relaxed);
  n.watching.store(long_len != 0 || old_ms != 0, std::memory_order_release);
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

void runtime::log(std::string_view line) const { impl_->log(line); }

void runtime::check_not_on_scheduler(const char* what) const {
  if (detail::scheduler::current(*impl_))
    throw std::logic_error(fmt::format("{} blocks, so it must not be called from a handler", what));
}

bool runtime::send_message(pid to, message* m) {
  return impl_->send(to, m, detail::scheduler::current(*impl_)) != detail::send_outcome::rejected;
}

void runtime::gate_spawns(admission* gate, std::size_t default_class) {
  impl_->spawn_default_class.store(default_class, std::memory_order_relaxed);
  impl_->spawn_gate.store(gate, std::memory_order_release);
}

void runtime::gate_sends(const std::string& name, admission* gate, std::size_t cls) {
  std::unique_lock lock(impl_->registry_mutex);
  if (gate) {
    impl_->send_gates[name] = {gate, cls};
  } else {
    impl_->send_gates.erase(name);
  }
}

std::optional<pid> runtime::whereis_admitted(std::string_view name) {
  auto& n = *impl_;
  std::shared_lock lock(n.registry_mutex);
  auto it = n.names.find(name);
  if (it == n.names.end()) return std::nullopt;
  if (!n.send_gates.empty()) [[unlikely]] {
    if (auto g = n.send_gates.find(name); g != n.send_gates.end() && !g->second.gate->admit(g->second.cls)) {
      auto& out = n.outside_stripe();  // a refused send still counts as sent, and as shed
      out.sent.fetch_add(1, std::memory_order_relaxed);
      n.shed.fetch_add(1, std::memory_order_relaxed);
      return std::nullopt;
    }
  }
  return it->second;
}

std::optional<pid> runtime::whereis(std::string_view name) const {
  std::shared_lock lock(impl_->registry_mutex);
  auto it = impl_->names.find(name);
  if (it == impl_->names.end()) return std::nullopt;
  return it->second;
}

std::vector<std::pair<std::string, pid>> runtime::registered() const {
  std::shared_lock lock(impl_->registry_mutex);
  return {impl_->names.begin(), impl_->names.end()};
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
  {
    std::shared_lock lock(impl_->registry_mutex);
    if (auto it = impl_->name_of.find(id.index); it != impl_->name_of.end()) c.registered_name = it->second;
  }
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
  c.shed = impl_->shed.load(std::memory_order_relaxed);
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
