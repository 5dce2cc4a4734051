#pragma once
/// The match process (registered as match:<id>): its status, its seq and its subscribers. It
/// applies each event a watcher registers, renders the block once and sends that one shared
/// payload to every subscriber; it monitors subscribers (never links to them).
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "agner/runtime/behaviour.hpp"
#include "match.hpp"
#include "messages.hpp"
#include "service.hpp"

namespace matchstream {

/// Thread contract: a behaviour (one handler at a time). Cost per event: one render, one store
/// message, one envelope per subscriber (no copy of the block).
class match_process final : public agner::behaviour {
 public:
  /// `status` and `seq` as stored (a fresh match: default status, seq 0).
  match_process(service* s, std::string id, match_status status, std::int64_t seq);
  ~match_process() override;
  void init(agner::context& ctx);
  void handle(agner::context& ctx, agner::message& m) override;
  /// "elp 1 - 0 tig, first, seq 12, 340 subscribers".
  std::string describe() const;

 private:
  void on_event(agner::context& ctx, agner::request<register_event>& r);
  void publish(bool ended);
  void remove(agner::pid client);

  service* s_;
  std::string id_;
  match_status status_;
  std::int64_t seq_;
  bool ended_ = false;  // its end is registered: it waits for the store, and takes no more events
  struct subscriber {
    agner::pid client;
    agner::monitor_ref monitor;
  };
  std::vector<subscriber> subs_;                    // fan-out order
  std::unordered_map<agner::pid, std::size_t> at_;  // client -> index in subs_
};

}  // namespace matchstream
