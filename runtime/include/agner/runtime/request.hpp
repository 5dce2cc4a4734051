#pragma once
/// Request/reply: the shapes a requester and a replier see.
#include <chrono>
#include <cstdint>
#include <memory>

#include "agner/runtime/message.hpp"
#include "agner/runtime/pid.hpp"

namespace agner {

/// "No timeout", as Erlang's `infinity`: a request (context::request, runtime::call) given this
/// timeout waits for its answer or noproc however long it takes, and starts no timer at all. Any
/// other timeout is a duration on the runtime's clock; a negative one counts as zero (the request
/// times out at the next millisecond unless answered first).
inline constexpr std::chrono::nanoseconds infinity = std::chrono::nanoseconds::max();

struct message_deleter {
  void operator()(message* m) const noexcept { destroy(m); }
};
/// An owned envelope.
using message_ptr = std::unique_ptr<message, message_deleter>;

/// Where a reply goes; copy it out of the request to answer later.
struct reply_to {
  pid from;
  std::uint64_t ref = 0;
};

/// What a process receives for a request: `if (auto* r = m.get<request<T>>()) ctx.reply(r->from, ...)`.
template <class T>
struct request {
  reply_to from;
  T body;
};

/// What a requester's continuation (or runtime::call) gets.
class reply {
 public:
  enum class status : std::uint8_t {
    ok,       ///< answered in time
    timeout,  ///< no answer in time; a later answer is dropped and counted as a late reply
    noproc,   ///< the target was dead when the request was sent
    failed,   ///< context::run_blocking's work threw; get<std::string>() holds the text
  };
  reply(status s, message_ptr body) : status_(s), body_(std::move(body)) {}
  status outcome() const noexcept { return status_; }
  bool ok() const noexcept { return status_ == status::ok; }
  /// The answer's payload if it is a T (else nullptr).
  template <class T>
  T* get() noexcept {
    return body_ ? body_->get<T>() : nullptr;
  }

 private:
  status status_;
  message_ptr body_;
};

}  // namespace agner
