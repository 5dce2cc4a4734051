#include "agner/introspect/groups.hpp"

#include "agner/introspect/queries.hpp"

#include <algorithm>
#include <cctype>
#include <limits>
#include <unordered_map>
#include <utility>

namespace agner::introspect {
namespace {

constexpr std::uint32_t none = std::numeric_limits<std::uint32_t>::max();

constexpr std::pair<std::string_view, group_sort> sort_names[] = {
    {"group", group_sort::group},   {"processes", group_sort::processes}, {"msgq", group_sort::msgq},
    {"max_msgq", group_sort::max_msgq}, {"memory", group_sort::memory},  {"reductions", group_sort::reductions},
    {"gc", group_sort::gc},
};

std::uint64_t value_of(const group_row& g, group_sort key) {
  switch (key) {
    case group_sort::group: return 0;
    case group_sort::processes: return g.processes;
    case group_sort::msgq: return g.message_queue_len;
    case group_sort::max_msgq: return g.max_message_queue_len;
    case group_sort::memory: return g.memory_bytes;
    case group_sort::reductions: return g.reductions_in_window;
    case group_sort::gc: return g.gc_runs;
  }
  return 0;
}

struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

/// A registered name's group without building a string: the stem, and whether a '*' follows it.
struct name_key {
  std::string_view stem;
  bool star = false;
};

name_key name_group_key(std::string_view name) {
  if (const auto colon = name.find(':'); colon != std::string_view::npos && colon > 0)
    return {name.substr(0, colon + 1), true};
  std::size_t digits = name.size();
  while (digits > 0 && std::isdigit(static_cast<unsigned char>(name[digits - 1]))) --digits;
  if (digits < name.size() && digits > 1 && name[digits - 1] == '_') return {name.substr(0, digits), true};
  return {name, false};
}

/// The groups seen so far, by name, capped at max_groups (then "(other)").
class group_table {
 public:
  std::uint32_t id_of(std::string_view name) {
    if (auto it = index_.find(name); it != index_.end()) return it->second;
    if (rows_.size() >= max_groups) {
      capped_ = true;
      if (other_ == none) {
        other_ = static_cast<std::uint32_t>(rows_.size());
        rows_.push_back(group_row{.group = "(other)"});
      }
      return other_;
    }
    const auto id = static_cast<std::uint32_t>(rows_.size());
    rows_.push_back(group_row{.group = std::string(name)});
    index_.emplace(std::string(name), id);
    return id;
  }
  group_row* data() { return rows_.data(); }
  const std::vector<group_row>& rows() const { return rows_; }
  std::vector<group_row> take() { return std::move(rows_); }
  bool capped() const { return capped_; }

 private:
  std::unordered_map<std::string, std::uint32_t, string_hash, std::equal_to<>> index_;
  std::vector<group_row> rows_;
  std::uint32_t other_ = none;
  bool capped_ = false;
};

}  // namespace

std::string name_group(std::string_view name) {
  const auto key = name_group_key(name);
  std::string group(key.stem);
  if (key.star) group += '*';
  return group;
}

std::string group_of(std::string_view registered_name, const std::type_info* behaviour) {
  if (!registered_name.empty()) return name_group(registered_name);
  return behaviour ? short_type(demangle(behaviour->name())) : std::string("?");
}

std::optional<group_sort> parse_group_sort(std::string_view name) {
  for (auto& [n, k] : sort_names)
    if (n == name) return k;
  return std::nullopt;
}

std::string_view group_sort_names() { return "group, processes, msgq, max_msgq, memory, reductions, gc"; }

groups_result group_window::groups(const runtime& rt, group_sort sort, std::size_t n,
                                   std::chrono::steady_clock::time_point now) {
  groups_result out;
  group_table table;
  // Registered processes, by pid: the scan walks slots in index order, so a cursor meets each one
  // in turn. Visited under the registry's read lock without copying a name; consecutive names of
  // one group (the common case) cost a compare, not a hash.
  struct named {
    std::uint64_t key;  // index << 32 | serial: pid order in one integer compare
    std::uint32_t group;
  };
  auto key_of = [](pid id) { return std::uint64_t{id.index} << 32 | id.serial; };
  std::vector<named> names;
  names.reserve(named_seen_);
  std::string key, last_key;
  std::uint32_t last_group = none;
  rt.visit_registered([&](std::string_view name, pid id) {
    const auto k = name_group_key(name);
    key.assign(k.stem);
    if (k.star) key += '*';
    if (last_group == none || key != last_key) {
      last_group = table.id_of(key);
      last_key.swap(key);
    }
    names.push_back({key_of(id), last_group});
  });
  named_seen_ = names.size();
  // Names registered in slot order (the registry keeps insertion order until one ends) cost a check.
  auto by_pid = [](const named& a, const named& b) { return a.key < b.key; };
  if (!std::is_sorted(names.begin(), names.end(), by_pid)) std::sort(names.begin(), names.end(), by_pid);
  // The per-process path touches only this: raw pointers, refreshed when a vector grows (a new
  // group, a slot past the window), and one compare against the next named slot, so the scan costs
  // no more than top's.
  constexpr std::uint32_t no_index = std::numeric_limits<std::uint32_t>::max();
  struct pass {
    const named* cursor;
    const named* names_end;
    std::uint32_t next_named;  // the slot index of *cursor, no_index past the end
    const std::type_info* last_kind = nullptr;
    std::uint32_t last_kind_group = none;
    seen* window = nullptr;
    std::size_t window_size = 0;
    group_row* rows = nullptr;
  } p{names.data(), names.data() + names.size(), names.empty() ? no_index : static_cast<std::uint32_t>(names.front().key >> 32)};
  if (last_.size() < rt.process_count()) last_.resize(rt.process_count());
  p.window = last_.data();
  p.window_size = last_.size();
  p.rows = table.data();
  std::unordered_map<const std::type_info*, std::uint32_t> kinds;
  auto group_of_kind = [&](const std::type_info* kind) __attribute__((noinline)) {  // the slow path: a behaviour type not seen last
    auto it = kinds.find(kind);
    if (it == kinds.end()) it = kinds.emplace(kind, table.id_of(group_of({}, kind))).first;
    p.rows = table.data();
    p.last_kind = kind;
    return p.last_kind_group = it->second;
  };
  auto group_of_named = [&](pid id) __attribute__((noinline)) {  // at or past the next named slot: none if `id` has no name
    const auto wanted = key_of(id);
    while (p.cursor != p.names_end && p.cursor->key < wanted) ++p.cursor;
    std::uint32_t g = none;
    if (p.cursor != p.names_end && p.cursor->key == wanted) g = (p.cursor++)->group;
    p.next_named = p.cursor != p.names_end ? static_cast<std::uint32_t>(p.cursor->key >> 32) : no_index;
    return g;
  };
  auto grow_window = [&](std::uint32_t index) __attribute__((noinline)) {
    last_.resize(std::max<std::size_t>(index + 1, last_.size() + last_.size() / 8));
    p.window = last_.data();
    p.window_size = last_.size();
  };
  rt.scan([&](const process_sample& s) {
    std::uint32_t g = s.id.index >= p.next_named ? group_of_named(s.id) : none;
    if (g == none) g = s.behaviour == p.last_kind && p.last_kind_group != none ? p.last_kind_group : group_of_kind(s.behaviour);
    // A process that never ran did nothing in any window, and what it does later counts whole
    // (as for a process first seen): its slot need not be read. Else the slot is written only when
    // it changed, so an idle process's stays clean in the cache.
    std::uint64_t window = 0;
    if (s.reductions != 0) {
      if (s.id.index >= p.window_size) grow_window(s.id.index);
      seen& before = p.window[s.id.index];
      const auto low = static_cast<std::uint32_t>(s.reductions);
      const bool known = before.serial_plus_one == s.id.serial + 1;
      window = known ? static_cast<std::uint32_t>(low - before.reductions_low) : s.reductions;
      if (!known || window != 0) before = seen{s.id.serial + 1, low};
    }
    group_row& r = p.rows[g];
    ++r.processes;
    r.message_queue_len += s.message_queue_len;
    r.max_message_queue_len = std::max(r.max_message_queue_len, s.message_queue_len);
    r.memory_bytes += s.memory;
    r.reductions += s.reductions;
    r.reductions_in_window += window;
    r.gc_runs += s.gc_runs;
  });
  for (auto& r : table.rows()) out.processes += r.processes;
  out.window_ms = previous_ ? static_cast<std::uint64_t>(
                                  std::chrono::duration_cast<std::chrono::milliseconds>(now - *previous_).count())
                            : 0;
  previous_ = now;
  out.groups_capped = table.capped();
  auto rows = table.take();
  // Registered names give groups even when their processes have ended since the registry copy.
  std::erase_if(rows, [](const group_row& r) { return r.processes == 0; });
  out.total_groups = rows.size();
  auto before = [sort](const group_row& a, const group_row& b) {
    if (sort != group_sort::group) {
      const auto va = value_of(a, sort), vb = value_of(b, sort);
      if (va != vb) return va > vb;
    }
    return a.group < b.group;
  };
  const std::size_t kept = std::min(n, rows.size());
  std::partial_sort(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(kept), rows.end(), before);
  rows.resize(kept);
  out.groups = std::move(rows);
  return out;
}

bool name_filter::in_group(const runtime& rt, const process_sample& s) {
  if (!group_ready_) {
    rt.visit_registered([&](std::string_view name, pid p) {
      const auto k = name_group_key(name);
      const bool match = group.size() == k.stem.size() + (k.star ? 1 : 0) && group.starts_with(k.stem) &&
                         (!k.star || group.back() == '*');
      group_named_.emplace_back(p, match);
    });
    std::sort(group_named_.begin(), group_named_.end());
    group_ready_ = true;
  }
  // A registered process belongs to its name's group only, whatever its behaviour.
  auto it = std::lower_bound(group_named_.begin(), group_named_.end(), std::pair<pid, bool>{s.id, false});
  if (it != group_named_.end() && it->first == s.id) return it->second;
  for (auto& [kind, match] : group_kinds_)
    if (kind == s.behaviour) return match;
  const bool match = group_of({}, s.behaviour) == group;
  group_kinds_.emplace_back(s.behaviour, match);
  return match;
}

}  // namespace agner::introspect
