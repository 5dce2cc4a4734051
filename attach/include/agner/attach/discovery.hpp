#pragma once
/// Local-node discovery for attach clients (etop with no argument, agner-ctl): where nodes put
/// their Unix sockets and which of them answer. Part of agner::attach (no runtime).
#include <string>
#include <vector>

namespace agner::introspect {

/// Where nodes put their sockets: $XDG_RUNTIME_DIR/agner if set, else /tmp/agner-UID.
/// Thread-safe (reads the environment); one small allocation.
std::string default_socket_dir();

/// Names of the nodes with a socket in `dir` that answers a connect (stale files are skipped),
/// sorted. An unreadable or missing `dir` gives none. Cost: one directory listing and one connect
/// attempt per *.sock file. Thread-safe.
std::vector<std::string> local_nodes(const std::string& dir = default_socket_dir());

namespace detail {
/// True when a connect to the Unix socket at `path` succeeds. Thread-safe; one connect attempt.
bool socket_answers(const std::string& path);
}  // namespace detail

}  // namespace agner::introspect
