#pragma once
/// The runtime's shed points (docs/alarms.md): the spawn gate and the gates on sends by name, and
/// the count of work they refused. Owns its lock.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "agner/snapshot/admission.hpp"
#include "registry.hpp"

namespace agner::detail {

class shed_points {
 public:
  /// runtime::gate_spawns. Any thread; set it before spawning from several threads.
  void gate_spawns(admission* gate, std::size_t default_class) noexcept {
    spawn_default_class_.store(default_class, std::memory_order_relaxed);
    spawn_gate_.store(gate, std::memory_order_release);
  }
  /// The spawn gate, if set and it refuses a spawn of class `priority` (negative: the default
  /// class); nullptr to go ahead. Any thread; one load while no gate is set.
  admission* refuses_spawn(int priority) const noexcept {
    admission* gate = spawn_gate_.load(std::memory_order_acquire);
    if (!gate) [[likely]] return nullptr;
    const std::size_t cls = priority >= 0 ? static_cast<std::size_t>(priority)
                                          : spawn_default_class_.load(std::memory_order_relaxed);
    return gate->admit(cls) ? nullptr : gate;
  }

  /// runtime::gate_sends: nullptr removes the gate on `name`. Any thread; takes the write lock.
  void gate_sends(const std::string& name, admission* gate, std::size_t cls) {
    std::unique_lock lock(mutex_);
    if (gate) {
      send_gates_[name] = {gate, cls};
    } else {
      send_gates_.erase(name);
    }
    gated_.store(!send_gates_.empty(), std::memory_order_release);
  }
  /// Whether a send by name to `name` may go in. Any thread; one load while no name is gated,
  /// else the read lock and the gate's admit.
  bool admits_send(std::string_view name) const {
    if (!gated_.load(std::memory_order_acquire)) [[likely]] return true;
    std::shared_lock lock(mutex_);
    auto g = send_gates_.find(name);
    return g == send_gates_.end() || g->second.gate->admit(g->second.cls);
  }

  /// Counts one refused piece of work. Any thread (one shared relaxed counter: shedding is rare).
  void count_shed() noexcept { shed_.fetch_add(1, std::memory_order_relaxed); }
  std::uint64_t shed() const noexcept { return shed_.load(std::memory_order_relaxed); }

 private:
  std::atomic<admission*> spawn_gate_{nullptr};
  std::atomic<std::size_t> spawn_default_class_{0};
  struct name_gate {
    admission* gate;
    std::size_t cls;
  };
  mutable std::shared_mutex mutex_;  // send_gates_
  std::unordered_map<std::string, name_gate, string_hash, std::equal_to<>> send_gates_;
  std::atomic<bool> gated_{false};  // !send_gates_.empty()
  std::atomic<std::uint64_t> shed_{0};
};

}  // namespace agner::detail
