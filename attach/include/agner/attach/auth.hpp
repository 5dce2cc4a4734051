#pragma once
/// Keys, nonces and proofs for TCP attach (docs/protocol.md, "Authentication"): what the client
/// and the server (agner::introspect, which links agner::attach for them) both compute. Part of
/// agner::attach; every function is thread-safe.
#include <cstddef>
#include <string>
#include <string_view>

namespace agner::introspect::detail {

/// `bytes` random bytes from getrandom(2), as lowercase hex.
std::string random_hex(std::size_t bytes);

/// The longest cookie file read, in bytes (a key is 64 hex digits).
inline constexpr std::size_t max_cookie_bytes = 1024;

/// The key in a cookie file, creating the file (0600, 32 random bytes as hex) if `create` and it
/// does not exist. Throws std::runtime_error naming the file and the fix when it cannot be used:
/// readable by group or others, not owned by this user, not a regular file (a fifo, a device, a
/// symbolic link: opened non-blocking, so nothing hangs), in a directory someone else could swap it
/// in (owned by another user but root, or writable by group or others without the sticky bit), larger than max_cookie_bytes (checked
/// before reading), shorter than 32 characters, or unreadable.
std::string load_cookie(const std::string& path, bool create);

/// HMAC-SHA256(key, label \0 client_nonce \0 server_nonce \0 node \0 version), as hex. The label
/// ("agner-client" or "agner-server") makes a proof useless in the other direction.
std::string proof(std::string_view key, std::string_view label, std::string_view client_nonce,
                  std::string_view server_nonce, std::string_view node, int version);

/// Compares in time that does not depend on where they differ.
bool same_secret(std::string_view a, std::string_view b) noexcept;

}  // namespace agner::introspect::detail
