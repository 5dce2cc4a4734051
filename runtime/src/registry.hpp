#pragma once
/// Registered names (Erlang's register/whereis): name -> pid, and slot index -> name. Owns its lock.
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "agner/runtime/pid.hpp"

namespace agner::detail {

struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

/// Thread-safe: readers share a reader-writer lock, spawns and exits of named processes take it
/// alone. No method calls out while holding it, but for add's `open`.
class registry {
 public:
  /// The pid registered under `name`. O(1) under the read lock.
  std::optional<pid> whereis(std::string_view name) const {
    std::shared_lock lock(mutex_);
    auto it = names_.find(name);
    if (it == names_.end()) return std::nullopt;
    return it->second;
  }
  /// Every name with its pid: O(names), copied under the read lock.
  std::vector<std::pair<std::string, pid>> registered() const {
    std::shared_lock lock(mutex_);
    return {names_.begin(), names_.end()};
  }
  /// Calls `visit(name, pid)` for every name under the read lock: O(names), no copy. `visit` must
  /// not take this registry's lock.
  template <class Visit>
  void visit(Visit&& visit) const {
    std::shared_lock lock(mutex_);
    for (auto& [name, id] : names_) visit(std::string_view(name), id);
  }
  /// The name of the process in slot `index`, or "" if it has none. O(1) under the read lock.
  std::string name_of(std::uint32_t index) const {
    std::shared_lock lock(mutex_);
    auto it = name_of_.find(index);
    return it == name_of_.end() ? std::string() : it->second;
  }
  /// Registers `name` for the process in slot `index`, whose pid `open()` makes under the write
  /// lock, so that nobody finds the name before the process can receive. Returns {its pid, true},
  /// or {the holder, false} without calling `open` if the name is taken.
  template <class Open>
  std::pair<pid, bool> add(const std::string& name, std::uint32_t index, Open&& open) {
    std::unique_lock lock(mutex_);
    if (auto it = names_.find(name); it != names_.end()) return {it->second, false};
    const pid id = open();
    names_.emplace(name, id);
    name_of_.emplace(index, name);
    return {id, true};
  }
  /// Forgets the name of the process in slot `index`, if any. O(1) under the write lock.
  void remove(std::uint32_t index) {
    std::unique_lock lock(mutex_);
    auto it = name_of_.find(index);
    if (it == name_of_.end()) return;
    names_.erase(it->second);
    name_of_.erase(it);
  }
  /// Forgets every name (runtime::stop).
  void clear() {
    std::unique_lock lock(mutex_);
    names_.clear();
    name_of_.clear();
  }

 private:
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, pid, string_hash, std::equal_to<>> names_;
  std::unordered_map<std::uint32_t, std::string> name_of_;  // by slot index
};

}  // namespace agner::detail
