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

#include "agner/snapshot/pid.hpp"

namespace agner::detail {

struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

/// Thread-safe: readers share a reader-writer lock, spawns and exits of named processes take it
/// alone. No method calls out while holding it, but for add's `open` and visit's `visit`.
/// The entries live in one dense vector (the maps hold positions into it), so walking every name
/// reads memory in order instead of chasing one hash node per name.
class registry {
 public:
  /// The pid registered under `name`. O(1) under the read lock.
  std::optional<pid> whereis(std::string_view name) const {
    std::shared_lock lock(mutex_);
    auto it = names_.find(name);
    if (it == names_.end()) return std::nullopt;
    return entries_[it->second].id;
  }
  /// Every name with its pid: O(names), copied under the read lock.
  std::vector<std::pair<std::string, pid>> registered() const {
    std::shared_lock lock(mutex_);
    std::vector<std::pair<std::string, pid>> out;
    out.reserve(entries_.size());
    for (auto& e : entries_) out.emplace_back(e.name, e.id);
    return out;
  }
  /// Calls `visit(name, pid)` for every name under the read lock: O(names), in memory order, no
  /// copy. `visit` must not take this registry's lock.
  template <class Visit>
  void visit(Visit&& visit) const {
    std::shared_lock lock(mutex_);
    for (auto& e : entries_) visit(std::string_view(e.name), e.id);
  }
  /// The name of the process in slot `index`, or "" if it has none. O(1) under the read lock.
  std::string name_of(std::uint32_t index) const {
    std::shared_lock lock(mutex_);
    auto it = name_of_.find(index);
    return it == name_of_.end() ? std::string() : entries_[it->second].name;
  }
  /// Registers `name` for the process in slot `index`, whose pid `open()` makes under the write
  /// lock, so that nobody finds the name before the process can receive. Returns {its pid, true},
  /// or {the holder, false} without calling `open` if the name is taken.
  template <class Open>
  std::pair<pid, bool> add(const std::string& name, std::uint32_t index, Open&& open) {
    std::unique_lock lock(mutex_);
    if (auto it = names_.find(name); it != names_.end()) return {entries_[it->second].id, false};
    const pid id = open();
    const auto at = static_cast<std::uint32_t>(entries_.size());
    entries_.push_back(entry{name, id});
    names_.emplace(name, at);
    name_of_.emplace(index, at);
    return {id, true};
  }
  /// Forgets the name of the process in slot `index`, if any: the last entry moves into its place.
  /// O(1) under the write lock.
  void remove(std::uint32_t index) {
    std::unique_lock lock(mutex_);
    auto it = name_of_.find(index);
    if (it == name_of_.end()) return;
    const std::uint32_t at = it->second;
    names_.erase(entries_[at].name);
    name_of_.erase(it);
    if (at + 1 != entries_.size()) {
      entries_[at] = std::move(entries_.back());
      names_.find(entries_[at].name)->second = at;
      name_of_.find(entries_[at].id.index)->second = at;
    }
    entries_.pop_back();
  }
  /// Forgets every name (runtime::stop).
  void clear() {
    std::unique_lock lock(mutex_);
    names_.clear();
    name_of_.clear();
    entries_.clear();
  }

 private:
  struct entry {
    std::string name;
    pid id;
  };
  mutable std::shared_mutex mutex_;
  std::vector<entry> entries_;  // dense, in no particular order
  std::unordered_map<std::string, std::uint32_t, string_hash, std::equal_to<>> names_;  // name -> entries_ position
  std::unordered_map<std::uint32_t, std::uint32_t> name_of_;  // slot index -> entries_ position
};

}  // namespace agner::detail
