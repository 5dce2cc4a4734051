#pragma once
// A refused request: a code a program can match beside the sentence an operator reads
// (docs/protocol.md, "Errors"). Thrown by the field readers, caught once in session::dispatch.
#include <string>

namespace agner::introspect {

/// The error codes of the wire protocol; docs/protocol.md lists what each means.
namespace codes {
inline constexpr const char* bad_request = "bad_request";        ///< malformed JSON or a field out of range
inline constexpr const char* unknown_op = "unknown_op";          ///< no such operation
inline constexpr const char* forbidden = "forbidden";            ///< the session's role may not do it
inline constexpr const char* noproc = "noproc";                  ///< the pid or name is not alive
inline constexpr const char* not_found = "not_found";            ///< no such alarm or valve
inline constexpr const char* unavailable = "unavailable";        ///< this node does not offer it (no alarms)
inline constexpr const char* busy = "busy";                      ///< a capacity limit is full; retry later
inline constexpr const char* unauthenticated = "unauthenticated";  ///< handshake refused or proof wrong
inline constexpr const char* version = "version";                ///< no common protocol version
inline constexpr const char* timeout = "timeout";                ///< handshake deadline or idle timeout
inline constexpr const char* too_large = "too_large";            ///< a frame past the frame limit
}  // namespace codes

struct request_error {
  std::string code;
  std::string message;
  std::string exit_reason = {};  ///< noproc about a process that ended lately: why (docs/protocol.md)
};

}  // namespace agner::introspect
