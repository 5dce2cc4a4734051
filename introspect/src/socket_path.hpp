#pragma once
// Where the Unix socket goes, checked before anything is changed on disk: the node chmods only a
// directory it created itself, refuses any other directory that is not private to its user (with
// the fix in the sentence), and unlinks only a stale socket.
#include <string>

#include "agner/attach/discovery.hpp"  // socket_answers

namespace agner::introspect::detail {

/// What prepare_socket_path changed, so that a failed start can undo it.
struct socket_place {
  std::string path;
  std::string created_dir;  ///< the directory the node made (empty when it existed)
};

/// Checks `path`'s directory and the path itself, creating the directory only when it is
/// `default_socket_dir()` (mode 0700). Removes a stale socket file at `path`. Throws
/// std::runtime_error naming the culprit and the fix: a missing parent, a symbolic link, a directory
/// of another user, a shared (sticky, e.g. /tmp) or group/world-accessible one, something other
/// than a socket at `path`, or a socket another node is serving. Cost: a few syscalls and one
/// connect attempt.
socket_place prepare_socket_path(const std::string& path);

/// Removes what prepare_socket_path and bind made: the socket file and an empty created directory.
void undo_socket_place(const socket_place& place) noexcept;


}  // namespace agner::introspect::detail
