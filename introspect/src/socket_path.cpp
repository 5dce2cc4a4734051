#include "socket_path.hpp"

#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it

#include <boost/asio.hpp>
#include <fmt/format.h>

#include "agner/attach/discovery.hpp"
#include "agner/snapshot/visible_text.hpp"

namespace agner::introspect::detail {
namespace {

// One line whatever the path holds: the operator's path is shown visibly (visible_text).
[[noreturn]] void refuse(const std::string& text) { throw std::runtime_error(visible_text(text)); }

void check_private_dir(const std::string& dir) {
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0)
    refuse(fmt::format("socket directory {}: {}", dir, std::strerror(errno)));
  if (S_ISLNK(st.st_mode))
    refuse(fmt::format("socket directory {} is a symbolic link; give the directory itself in --socket", dir));
  if (!S_ISDIR(st.st_mode)) refuse(fmt::format("socket directory {} is not a directory", dir));
  if (st.st_uid != ::geteuid())
    refuse(fmt::format("socket directory {} belongs to uid {}, not to this user (uid {}); pick a directory of your "
                       "own with --socket",
                       dir, st.st_uid, ::geteuid()));
  if (st.st_mode & S_ISVTX)
    refuse(fmt::format("socket directory {} is shared (mode {:04o}); make a private one with: mkdir -m 700 DIR, "
                       "then --socket DIR/NAME.sock",
                       dir, st.st_mode & 07777));
  if (st.st_mode & 077)
    refuse(fmt::format("socket directory {} is open to others (mode {:04o}); fix with: chmod 700 {}", dir,
                       st.st_mode & 07777, dir));
}

}  // namespace

socket_place prepare_socket_path(const std::string& path) {
  // sockaddr_un holds 108 bytes with the terminating NUL; the kernel's own error ("File name too
  // long") would name neither the path nor the limit.
  constexpr std::size_t max_path = sizeof(sockaddr_un::sun_path) - 1;
  if (path.size() > max_path)
    refuse(fmt::format("socket path {} is {} bytes; a Unix socket path holds at most {}: pick a shorter --socket",
                       path, path.size(), max_path));
  socket_place place{path, {}};
  const auto parent = std::filesystem::path(path).parent_path();
  const std::string dir = parent.empty() ? std::string(".") : parent.string();
  if (dir == default_socket_dir()) {
    if (::mkdir(dir.c_str(), 0700) == 0) {
      place.created_dir = dir;
      ::chmod(dir.c_str(), 0700);  // ours, just made: the umask may have taken bits we want
    } else if (errno != EEXIST) {
      refuse(fmt::format("cannot create the socket directory {}: {}", dir, std::strerror(errno)));
    }
  } else {
    struct stat st {};
    if (::lstat(dir.c_str(), &st) != 0 && errno == ENOENT)
      refuse(fmt::format("socket directory {} does not exist; create it with: mkdir -m 700 {}", dir, dir));
  }
  try {
    check_private_dir(dir);
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
      if (!S_ISSOCK(st.st_mode))
        refuse(fmt::format("{} exists and is not a socket; remove it or pick another --socket", path));
      if (socket_answers(path))
        refuse(fmt::format("another node is serving {} (something answers there); pick another --name or --socket", path));
      if (st.st_uid != ::geteuid())  // not ours to remove, stale or not
        refuse(fmt::format("{} belongs to uid {}, not to this user (uid {}); remove it if it is stale, or pick another "
                           "--socket",
                           path, st.st_uid, ::geteuid()));
      if (::unlink(path.c_str()) != 0)  // a stale socket, left by a node that did not stop cleanly
        refuse(fmt::format("cannot remove the stale socket {}: {}", path, std::strerror(errno)));
    }
  } catch (...) {
    if (!place.created_dir.empty()) ::rmdir(place.created_dir.c_str());
    throw;
  }
  return place;
}

void undo_socket_place(const socket_place& place) noexcept {
  struct stat st {};
  if (!place.path.empty() && ::lstat(place.path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(place.path.c_str());
  if (!place.created_dir.empty()) ::rmdir(place.created_dir.c_str());  // only if empty
}

}  // namespace agner::introspect::detail
