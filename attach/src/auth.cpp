#include "agner/attach/auth.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "agner/snapshot/visible_text.hpp"

namespace agner::introspect::detail {
namespace {

std::string hex(const unsigned char* p, std::size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(2 * n, '0');
  for (std::size_t i = 0; i < n; ++i) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 15];
  }
  return out;
}

[[noreturn]] void refuse(const std::string& path, const std::string& why) {
  throw std::runtime_error(fmt::format("cookie file {}: {}", visible_text(path), why));
}

/// Refuses a cookie whose directory lets someone else replace it: one owned by another user (root
/// aside), or writable by group or others without the sticky bit (as ssh's StrictModes does).
void check_directory(const std::string& path) {
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return;  // a missing directory: opening the file says so
  if (st.st_uid != ::geteuid() && st.st_uid != 0)
    refuse(path, fmt::format("its directory {} is owned by uid {}, who could replace the key; keep the cookie in a "
                             "directory of your own, e.g. ~/.config/agner",
                             visible_text(dir), st.st_uid));
  if ((st.st_mode & 022) && !(st.st_mode & S_ISVTX))
    refuse(path, fmt::format("its directory {} is writable by group or others (mode {:04o}), who could replace the "
                             "key; fix with: chmod go-w {}",
                             visible_text(dir), st.st_mode & 07777, visible_text(dir)));
}

}  // namespace

std::string random_hex(std::size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  std::size_t got = 0;
  while (got < bytes) {
    ssize_t n = getrandom(buf.data() + got, bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(fmt::format("getrandom failed: {}", std::strerror(errno)));
    }
    got += static_cast<std::size_t>(n);
  }
  return hex(buf.data(), bytes);
}

std::string load_cookie(const std::string& path, bool create) {
  // O_NONBLOCK: a fifo at the path must not hang the start; O_NOFOLLOW: not a link to elsewhere.
  constexpr int read_flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK;
  check_directory(path);
  int fd = ::open(path.c_str(), read_flags);
  if (fd < 0 && errno == ENOENT && create) {
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) refuse(path, fmt::format("cannot create it: {}", std::strerror(errno)));
    const std::string key = random_hex(32) + "\n";
    const bool written = ::fchmod(fd, 0600) == 0 && ::write(fd, key.data(), key.size()) == static_cast<ssize_t>(key.size());
    ::close(fd);
    if (!written) refuse(path, "cannot write the new key");
    fd = ::open(path.c_str(), read_flags);
  }
  if (fd < 0) {
    if (errno == ELOOP) refuse(path, "a symbolic link; give the file itself");
    refuse(path, fmt::format("cannot open it: {}", std::strerror(errno)));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    refuse(path, "not a regular file");
  }
  if (st.st_uid != ::geteuid()) {
    ::close(fd);
    refuse(path, fmt::format("owned by uid {}, not by this user (uid {}); use a cookie file of your own, or "
                             "chown {} {}", st.st_uid, ::geteuid(), ::geteuid(), visible_text(path)));
  }
  if (st.st_mode & 077) {
    ::close(fd);
    refuse(path, fmt::format("readable or writable by group or others (mode {:04o}); fix with: chmod 600 {}",
                             st.st_mode & 07777, path));
  }
  if (st.st_size > static_cast<off_t>(max_cookie_bytes)) {
    ::close(fd);
    refuse(path, fmt::format("{} bytes, more than a key ({} at most); delete the file to have a new one made",
                             st.st_size, max_cookie_bytes));
  }
  char buf[max_cookie_bytes + 1];
  std::size_t got = 0;
  while (got < sizeof buf) {
    const ssize_t n = ::read(fd, buf + got, sizeof buf - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      refuse(path, fmt::format("cannot read it: {}", std::strerror(err)));
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (got > max_cookie_bytes) refuse(path, fmt::format("more than {} bytes, more than a key", max_cookie_bytes));
  std::string key(buf, got);
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r' || key.back() == ' ')) key.pop_back();
  if (key.size() < 32) refuse(path, "the key is shorter than 32 characters; delete the file to have a new one made");
  return key;
}

std::string proof(std::string_view key, std::string_view label, std::string_view client_nonce,
                  std::string_view server_nonce, std::string_view node, int version) {
  std::string data;
  for (std::string_view part : {label, client_nonce, server_nonce, node}) {
    data.append(part);
    data.push_back('\0');
  }
  data.append(std::to_string(version));
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), mac, &len);
  return hex(mac, len);
}

bool same_secret(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace agner::introspect::detail
