#pragma once
/// Alarms and valves (docs/alarms.md). The engine evaluates the rules on a tick (time is passed in,
/// so tests drive it), raises and clears alarms with hysteresis, `for` and hold, and turns firing
/// alarms into valve pressure. Applications check a valve before taking work in.
#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "agner/alarms/alarm_step.hpp"
#include "agner/alarms/rules.hpp"
#include "agner/introspect/snapshot.hpp"
#include "agner/snapshot/admission.hpp"

namespace agner::alarms {

/// A named shed point. Producers ask it before taking work in; under pressure it refuses work of
/// the lower priority classes first, never the system class.
class valve final : public admission {
 public:
  static constexpr std::size_t max_classes = 8;
  /// A class's shed threshold that refuses all of its work (valve_control.hpp: shed_below).
  static constexpr std::uint32_t shed_all = 0xffffffffu;

  /// May work of priority class `cls` (engine::class_index) go in now? False means: refuse it at the
  /// producer with "overloaded, retry later". Thread-safe; costs a relaxed atomic load, a
  /// thread-local random number and a compare, plus two relaxed counter adds.
  bool admit(std::size_t cls) noexcept override;
  std::string_view name() const noexcept override { return id_; }

  struct counts {
    std::uint64_t offered = 0, admitted = 0, shed = 0, would_shed = 0;  ///< offered == admitted + shed
  };
  counts count(std::size_t cls) const noexcept;
  double pressure() const noexcept { return static_cast<double>(pressure_milli_.load(std::memory_order_relaxed)) / 1000; }
  const std::string& id() const noexcept { return id_; }

 private:
  friend class engine;
  std::string id_;
  std::array<std::atomic<std::uint32_t>, max_classes> shed_below_{};  // shed when random < this
  std::atomic<bool> shadow_{false};
  std::atomic<std::uint32_t> pressure_milli_{0};
  struct alignas(64) class_counts {
    std::atomic<std::uint64_t> offered{0}, admitted{0}, shed{0}, would_shed{0};
  };
  std::array<class_counts, max_classes> counts_{};
};

/// One alarm edge, for the history.
struct transition {
  std::int64_t at_ms = 0;
  std::string alarm, source;
  std::string from, to;  ///< severities, or "inactive"
  double value = 0;
};

class engine {
 public:
  /// Reads a metric for an alarm: a system metric name or "business:NAME", with labels; nullopt
  /// when it has no value (the alarm then stays as it is).
  using reader = std::function<std::optional<double>(const std::string& metric, const std::map<std::string, std::string>& labels)>;

  engine(rules r, reader read, std::function<void(std::string_view)> log = {});

  /// Evaluates every alarm and valve at `now_ms` (wall-clock milliseconds). The node calls it every
  /// tick_ms; tests call it with the times they choose.
  void tick(std::int64_t now_ms);
  /// Replaces the rules. Alarms and valves whose ids stay keep their state (active level, pending
  /// and hold timers, acknowledgement, pressure).
  void reload(rules r);
  /// How often the rules want to be evaluated. Thread-safe.
  std::int64_t tick_ms() const;

  /// A per-process crossing from the runtime's queue watch: `metric` is process:message_queue_len
  /// or process:oldest_message_age_ms, `source` names the process; `on` when it crossed the raise
  /// threshold, off when back at the clear one. The alarm (one per rule and process) still waits
  /// for_ms before firing and hold_ms before clearing, on the tick. Thread-safe.
  void process_event(const std::string& metric, const std::string& source, bool on, double value, std::int64_t now_ms);
  /// The per-process thresholds the rules ask of the runtime's queue watch: {raise, clear} for
  /// queue length and for oldest-message age (0, 0 when no rule asks).
  struct watch_thresholds {
    std::uint32_t long_len = 0, short_len = 0, old_ms = 0, young_ms = 0;
  };
  watch_thresholds process_thresholds() const;

  /// Programmatic alarms, as OTP's alarm_handler: set raises (or updates) `id` at once, clear
  /// clears it. Their source is "application". Thread-safe.
  void set(const std::string& id, severity s, const std::string& description, std::int64_t now_ms);
  bool clear(const std::string& id, std::int64_t now_ms);
  /// Marks an active alarm seen by an operator; an escalation clears the mark. Never changes
  /// shedding. False when no such alarm is active.
  bool acknowledge(const std::string& id);

  enum class override_mode { automatic, open, closed };
  /// An operator's hand on a valve until `until_ms`: open sheds nothing, closed sheds every class
  /// but the system class, automatic follows the alarms. False for an unknown valve.
  bool override_valve(const std::string& id, override_mode m, std::int64_t until_ms);

  /// The valve `id` (declared in the rules, or made now with no triggers). The reference stays
  /// valid for the engine's life, across reloads. Thread-safe.
  valve& valve_named(const std::string& id);
  /// The index of priority class `name` for valve::admit; the lowest class if unknown.
  std::size_t class_index(std::string_view name) const;

  std::vector<introspect::alarm_row> active() const;
  std::vector<transition> history() const;

  struct valve_state {
    std::string id;
    double pressure = 0;
    bool shadow = false;
    std::string override_mode;  ///< "automatic", "open", "closed"
    std::vector<std::pair<std::string, valve::counts>> classes;
  };
  std::vector<valve_state> valves() const;
  /// Most alarm ids whose transitions are counted one by one (docs/alarms.md): past it, the id that
  /// changed longest ago is evicted and its count added to transition_counts::evicted.
  static constexpr std::size_t max_transition_ids = 1000;
  /// Transitions since start: per alarm id for the at most max_transition_ids ids that changed last,
  /// and the sum of the counts of the ids evicted since. by_id plus evicted is exactly every
  /// transition, and never goes down. An evicted id that changes again comes back counting from 0.
  struct transition_counts {
    std::map<std::string, std::uint64_t> by_id;
    std::uint64_t evicted = 0;
  };
  /// For the exporter. Thread-safe; copies at most max_transition_ids ids.
  transition_counts transitions_total() const;

 private:
  struct valve_slot {
    std::unique_ptr<valve> v;
    override_mode mode = override_mode::automatic;
    std::int64_t override_until = 0, last_ms = 0;
    double pressure = 0;
  };
  void evaluate(const alarm_rule& r, alarm_state& s, std::int64_t now);
  std::optional<double> windowed_mean(const alarm_rule& r, alarm_state& s, std::int64_t now);
  void move_to(const alarm_rule* r, const std::string& id, alarm_state& s, int level, std::int64_t now, const std::string& source);
  double pressure_of(const alarm_rule& r, const alarm_state& s) const;  // 0 unless firing
  void update_valve(valve_slot& slot, const valve_rule* rule, std::int64_t now);
  void note(transition t);
  void count_transition(const std::string& id);

  mutable std::mutex mutex_;
  rules rules_;
  reader read_;
  std::function<void(std::string_view)> log_;
  std::map<std::string, alarm_state> states_;        // rule alarms, by id
  std::map<std::string, alarm_state> programmatic_;  // application alarms, by id
  std::map<std::pair<std::string, std::string>, alarm_state> per_process_;  // (rule id, source)
  std::map<std::string, valve_slot> valves_;
  std::deque<transition> history_;
  struct transition_count {
    std::uint64_t count = 0;
    std::list<std::string>::iterator at;  // in transitions_recent_
  };
  std::unordered_map<std::string, transition_count> transitions_;
  std::list<std::string> transitions_recent_;  // the ids of transitions_, most recently changed first
  std::uint64_t transitions_evicted_ = 0;
};

/// "automatic", "open", "closed".
std::string_view to_string(engine::override_mode m);
/// The mode named `name` (as to_string spells it); nullopt for anything else.
std::optional<engine::override_mode> parse_override_mode(std::string_view name);

}  // namespace agner::alarms
