#include "agner/alarms/bounded_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace agner {
namespace {

const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a fifo";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

struct fd_closer {
  int fd;
  ~fd_closer() { ::close(fd); }
};

}  // namespace

bounded_file read_bounded_file(const std::string& path, std::size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return {std::nullopt, fmt::format("cannot open {}: {}", path, std::strerror(errno))};
  fd_closer closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) return {std::nullopt, fmt::format("cannot stat {}: {}", path, std::strerror(errno))};
  if (!S_ISREG(st.st_mode)) return {std::nullopt, fmt::format("{} is {}, not a regular file", path, kind_of(st.st_mode))};
  if (static_cast<std::size_t>(st.st_size) > max_bytes)
    return {std::nullopt, fmt::format("{} is {} bytes, more than the {} allowed", path, st.st_size, max_bytes)};
  std::string text;
  text.reserve(static_cast<std::size_t>(st.st_size));
  char chunk[65536];
  while (text.size() <= max_bytes) {
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return {std::nullopt, fmt::format("cannot read {}: {}", path, std::strerror(errno))};
    if (n == 0) break;
    text.append(chunk, static_cast<std::size_t>(n));
  }
  if (text.size() > max_bytes) return {std::nullopt, fmt::format("{} grew past the {} bytes allowed while it was read", path, max_bytes)};
  return {std::move(text), {}};
}

}  // namespace agner
