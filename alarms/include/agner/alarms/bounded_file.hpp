#pragma once
/// Reading a file the node is told to read (rules today; anything later) without letting the file
/// hang or exhaust the node: a fifo, a device, a directory or a file past a size bound is refused
/// with a sentence instead of being read.
#include <cstddef>
#include <optional>
#include <string>

namespace agner {

/// What read_bounded_file found: the text, or (text empty) a sentence naming the file and why.
struct bounded_file {
  std::optional<std::string> text;
  std::string error;  ///< e.g. "/etc/agner/rules.json is a fifo, not a regular file"
};

/// Reads the whole of `path` if it is a regular file of at most `max_bytes`. Opened O_NONBLOCK
/// (opening a fifo never waits for a writer), checked with fstat after the open (what a symlink
/// points to counts: a link to /dev/zero is a character device), bounded before it is read and
/// again while it is read (a file that grows meanwhile is refused). Thread-safe (no shared state);
/// cost: one open, one fstat, reads of at most max_bytes + 1 bytes. Never throws but std::bad_alloc.
bounded_file read_bounded_file(const std::string& path, std::size_t max_bytes);

}  // namespace agner
