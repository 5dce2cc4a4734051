#pragma once
/// Request/reply: the shapes a requester and a replier see.
#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <typeinfo>

#include "agner/runtime/message.hpp"
#include "agner/snapshot/pid.hpp"

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

/// What a process receives for a request: `if (auto* r = m.get<request<T>>()) ctx.reply(*r, ...)`.
/// A body type may name its answer's type, `using reply_type = long;`: then context::reply(*r, v)
/// converts v to it and does not compile when v cannot be one, so the server cannot answer an
/// `int` where the client reads a `long`.
template <class T>
struct request {
  reply_to from;
  T body;
};

/// The answer type a request body declares (`T::reply_type`), or void when it declares none.
template <class T>
struct reply_type_of {
  using type = void;
};
template <class T>
  requires requires { typename T::reply_type; }
struct reply_type_of<T> {
  using type = typename T::reply_type;
};
template <class T>
using reply_type_t = typename reply_type_of<T>::type;

/// Thrown by reply::as when the answer has another type; its text names both types.
class bad_reply_type : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

/// What a requester's continuation (or runtime::call) gets.
class reply {
 public:
  enum class status : std::uint8_t {
    ok,       ///< answered in time
    timeout,  ///< no answer in time; a later answer is dropped and counted as a late reply
    noproc,   ///< the target was dead, or ended before answering (get<std::string>(): its exit reason)
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
  /// The answer's payload as a T. Throws bad_reply_type when there is no answer (its text says
  /// the status) or when it has another type ("reply holds int, not long"). For a request whose
  /// body declares reply_type, `r.as<agner::reply_type_t<Body>>()`.
  template <class T>
  T& as() {
    if (T* v = get<T>()) return *v;
    throw_bad_type(typeid(T));
  }

 private:
  [[noreturn]] void throw_bad_type(const std::type_info& wanted) const;
  status status_;
  message_ptr body_;
};

}  // namespace agner
