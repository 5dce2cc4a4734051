#pragma once
// etop's connection to a node: attach, fetch, act, and reconnect with backoff when it drops.
#include <optional>
#include <string>

#include "agner/etop/render.hpp"
#include "agner/etop/view.hpp"
#include "agner/introspect/client.hpp"

namespace agner::etop {

/// Where to attach.
struct target {
  std::string display;      ///< as the operator wrote it
  std::string unix_path;    ///< a path or node name, for the Unix socket
  std::string host;         ///< for TCP
  std::uint16_t port = 0;
  std::string cookie_file;  ///< for TCP
  std::string role = "admin";
};

class node_link {
 public:
  explicit node_link(target t) : target_(std::move(t)) {}

  /// Attaches if not attached and a retry is due. True when attached.
  bool ensure(double now_s);
  /// The node's figures and its top `n` rows for the view (sort and filter). Nullopt when the link
  /// is down (the reason is kept for the header).
  std::optional<sample> fetch(const view_state& v, std::size_t n, double now_s);
  /// One process; nullopt when it is gone (notice says why) or the link is down.
  std::optional<process_details> inspect(pid p, std::string& notice, double now_s);
  /// Carries out kill, garbage_collect, suspend or resume; notice says what happened.
  void act(const outcome& o, std::string& notice, double now_s);
  connection status(double now_s) const;
  bool admin() const { return client_ && client_->role() == "admin"; }

 private:
  void lost(const std::string& why, double now_s);
  target target_;
  std::optional<introspect::client> client_;
  std::string problem_;
  double next_try_ = 0, backoff_ = 1;
};

}  // namespace agner::etop
