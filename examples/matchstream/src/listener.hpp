#pragma once
/// client_listener: the one TCP listener of the service (clients and watchers).
#include <atomic>
#include <cstdint>
#include <future>
#include <memory>
#include <string>

#include "agner/runtime/behaviour.hpp"
#include "service.hpp"

namespace matchstream {

/// Where to listen, and how the first start tells start_service the port it bound (or its error).
struct listen_spot {
  std::string address;
  std::uint16_t port = 0;
  int backlog = 4096;
  std::promise<std::uint16_t> bound;
  std::atomic<bool> told{false};
};

/// Thread contract: a behaviour. Cost per connection: one valve check, one spawn, one port handover.
class client_listener final : public agner::behaviour {
 public:
  client_listener(service* s, std::shared_ptr<listen_spot> spot);
  /// Listens. When it cannot: the first start hands the error to start_service and ends normally;
  /// a restart throws (crashes, for its supervisor to decide).
  void init(agner::context& ctx);
  void handle(agner::context& ctx, agner::message& m) override;
  std::string describe() const;

 private:
  service* s_;
  std::shared_ptr<listen_spot> spot_;
  agner::port_id listener_;
  std::uint64_t accepted_ = 0, refused_ = 0;
};

}  // namespace matchstream
