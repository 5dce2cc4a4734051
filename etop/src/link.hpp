#pragma once
// etop's connection to a node: attach, fetch, act, and reconnect with backoff when it drops.
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>

#include "agner/etop/render.hpp"
#include "agner/etop/view.hpp"
#include "agner/attach/client.hpp"
#include "agner/snapshot/tree.hpp"

namespace agner::etop {

/// Where to attach.
struct target {
  std::string display;      ///< as the operator wrote it
  std::string unix_path;    ///< a path or node name, for the Unix socket
  std::string host;         ///< for TCP
  std::uint16_t port = 0;
  std::string cookie_file;  ///< for TCP
  std::string role = "admin";
  /// How long the connect and each request wait for the node before the link counts as lost
  /// (etop --timeout; the client's reply_deadline on screen unless given).
  std::chrono::milliseconds reply_within = introspect::reply_deadline;
};

/// A failure retrying cannot fix (a wrong key, a role the key does not grant, an unreadable cookie
/// file): what() is the sentence for the operator, naming the role and the key file.
class fatal_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// "cannot read WHERE: PROBLEM", or PROBLEM alone when it already names the node ("cannot attach
/// to WHERE: ..."), so that no sentence says where twice.
inline std::string cannot_read(const std::string& where, const std::string& problem) {
  if (problem.starts_with("cannot attach")) return problem;
  return "cannot read " + where + ": " + problem;
}

/// Not thread-safe: etop's one thread owns it. Every call blocks on the node for one request or two.
class node_link {
 public:
  explicit node_link(target t) : target_(std::move(t)) {}

  /// Attaches if not attached and a retry is due. True when attached. Throws fatal_error when the
  /// node refused the credentials (retrying with the same key cannot help).
  bool ensure(double now_s);
  /// The node's figures and its top `n` rows for the view (sort, filter, the group drilled into; on
  /// the grouped table no rows: groups() asks for that screen's). Nullopt when the link
  /// is down (the reason is kept for the header) or when the node refused the request while staying
  /// attached (`refused` receives its sentence, e.g. the reductions window limit). Leaving the REDS
  /// sort gives the node's reductions window back (by attaching afresh: the protocol frees a
  /// session's window when the session ends).
  std::optional<sample> fetch(const view_state& v, std::size_t n, double now_s, std::string& refused);
  /// The node's groups (`groups`) by the grouped table's sort, the first `n`. Nullopt when the link
  /// is down or the node refused (`refused` receives its sentence: the reductions window limit).
  /// The session keeps its groups window while the grouped table or a group drilled into is shown.
  std::optional<groups_sample> groups(const view_state& v, std::size_t n, double now_s, std::string& refused);
  /// One process; nullopt when it is gone (`gone` set, `notice` = its exit reason when the node still
  /// knows it, else empty) or the link is down.
  std::optional<process_details> inspect(pid p, std::string& notice, bool& gone, double now_s);
  /// One process by pid ("<0.5.1>") or registered name, for etop --inspect. Throws client_error
  /// (the node's sentence, or a reply etop cannot decode) and fatal_error as ensure() does.
  process_details process_info(const std::string& pid_or_name, double now_s);
  /// The process registered as `name` now, if any (the successor of a restarted process).
  std::optional<pid> whereis(const std::string& name, double now_s);
  /// Carries out kill, garbage_collect, suspend or resume; notice says what happened.
  void act(const outcome& o, std::string& notice, double now_s);
  /// Carries out an alarm or valve operation (alarms screen); notice says what happened, or the
  /// node's refusal (no such alarm, a viewer session, a node without alarms).
  void operate(const operation& op, std::string& notice, double now_s);
  /// The node's supervision tree within its default bounds (supervision_tree); nullopt when the
  /// link is down or the node refused (`notice` then says why).
  std::optional<introspect::supervision_tree> tree(std::string& notice, double now_s);
  connection status(double now_s) const;
  bool admin() const { return client_ && client_->role() == "admin"; }

 private:
  void lost(const std::string& why, double now_s);
  [[noreturn]] void refused_credentials(const std::string& why) const;
  target target_;
  std::optional<introspect::client> client_;
  bool window_held_ = false;  ///< this session holds a reductions window on the node
  bool group_window_held_ = false;  ///< this session holds a groups window on the node
  std::string problem_;
  double next_try_ = 0, backoff_ = 1;
};

}  // namespace agner::etop
