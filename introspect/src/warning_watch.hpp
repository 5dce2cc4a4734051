#pragma once
// The attach server's warning monitor: sampled on the server's thread while someone asks for
// warnings (docs/warnings.md, "Cost"), idle otherwise.
#include <chrono>
#include <vector>

#include "agner/introspect/warnings.hpp"
#include "server_state.hpp"

namespace agner::introspect {

class warning_watch {
 public:
  /// The server samples this long after the last `warnings` request, then stops until the next.
  static constexpr std::chrono::seconds watch_for{60};
  /// How often the schedulers are looked at for never_yielded while watching.
  static constexpr std::chrono::milliseconds scheduler_look{100};

  explicit warning_watch(server::impl& srv) : srv_(srv), timer_(srv.io) {}
  /// A session asked: samples at once if nothing was sampled yet, and keeps sampling every
  /// sample_ms for watch_for. Returns the warnings. Server thread only.
  std::vector<warning_row> asked();
  const warning_thresholds& thresholds() const noexcept { return monitor_.thresholds(); }

 private:
  void tick();
  void configure();
  server::impl& srv_;
  warning_monitor monitor_;
  asio::steady_timer timer_;
  bool armed_ = false;
  std::chrono::steady_clock::time_point asked_at_, sampled_at_;
};

}  // namespace agner::introspect
