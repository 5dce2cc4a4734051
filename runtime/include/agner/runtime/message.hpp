#pragma once
/// Messages: a value of any movable type in an envelope. The receiver owns the envelope; no two
/// processes ever share a mutable payload.
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include <fmt/format.h>

namespace agner {

/// What the runtime knows about a payload type: how to destroy it, what to call it, how to show it.
struct message_type {
  void (*destroy)(struct message*) noexcept;
  const std::type_info* info;  ///< typeid(T)
  /// The payload as text, for introspection; null for a type fmt cannot format (give the type an
  /// fmt::formatter or a format_as to have its messages shown, not just named and sized).
  std::string (*format)(const struct message&);
  std::uint16_t size8;  ///< the envelope's size in 8-byte units (saturates), for accounting
  bool signal;          ///< handled by the runtime (links, monitors, replies), not the handler
  /// What one envelope adds to its mailbox's packed counters (mailbox.hpp): 1 in the count and its
  /// size in the bytes; 0 for a bookkeeping signal (link, monitor, suspend...), which becomes no
  /// message: Erlang's message_queue_len and a max_len bound count messages only.
  std::uint64_t tally;
};

namespace detail {
/// Envelope memory: thread-local size-class caches that trade batches through a bounded global
/// depot, so an envelope allocated on one scheduler and freed on another costs no lock per message.
void* allocate_envelope(std::size_t size);
void free_envelope(void* p, std::size_t size) noexcept;
}  // namespace detail

/// A message envelope. Intrusive `next` link, so enqueueing allocates nothing beyond the envelope.
/// Only the receiving process touches an envelope after it has been sent.
struct message {
  message* next = nullptr;
  const message_type* type = nullptr;
  std::uint32_t target_serial = 0;  ///< serial of the pid it was sent to; a reused slot drops it
  std::uint32_t sent_ms = 0;        ///< when it was sent, on the coarse clock (see detail::coarse_ms)

  /// Bytes this envelope occupies (inline payload included; memory the payload owns elsewhere,
  /// such as a long std::string's characters, is not).
  std::size_t bytes() const noexcept { return std::size_t{type->size8} * 8; }
  /// Handled by the runtime, not by a handler.
  bool signal() const noexcept { return type->signal; }

  /// The payload if it has type T, else nullptr. One pointer compare.
  template <class T>
  T* get() noexcept;
  template <class T>
  bool is() const noexcept;

  /// Demangled payload type name, e.g. "ping" (for logs and introspection; allocates).
  std::string type_name() const;
  /// The payload as text if its type is formattable, else empty (allocates).
  std::string format() const { return type->format ? type->format(*this) : std::string(); }

  static void* operator new(std::size_t size) { return detail::allocate_envelope(size); }
  static void operator delete(void* p, std::size_t size) noexcept { detail::free_envelope(p, size); }
};

template <class T>
struct typed_message final : message {
  T value;
  template <class... A>
  explicit typed_message(A&&... a) : value(std::forward<A>(a)...) {}
};

namespace detail {
template <class T>
void destroy_message(message* m) noexcept {
  delete static_cast<typed_message<T>*>(m);
}
template <class T>
constexpr auto formatter_of() -> std::string (*)(const message&) {
  if constexpr (fmt::is_formattable<T>::value) {
    return [](const message& m) { return fmt::format("{}", static_cast<const typed_message<T>&>(m).value); };
  } else {
    return nullptr;
  }
}
template <class T>
constexpr std::uint16_t size8_of() {
  constexpr std::size_t units = (sizeof(typed_message<T>) + 7) / 8;
  return static_cast<std::uint16_t>(units < 0xffff ? units : 0xffff);
}
/// A mailbox's packed counters: the count in the low 35 bits, the size in 8-byte units above.
inline constexpr unsigned tally_size_shift = 35;
template <class T>
constexpr std::uint64_t tally_of() {
  if constexpr (requires { T::agner_bookkeeping; }) {
    return 0;
  } else {
    return (std::uint64_t{size8_of<T>()} << tally_size_shift) | 1u;
  }
}
template <class T>
inline constexpr message_type type_of{&destroy_message<T>, &typeid(T),
                                      formatter_of<T>(),
                                      size8_of<T>(), requires { T::agner_signal; }, tally_of<T>()};
}  // namespace detail

template <class T>
T* message::get() noexcept {
  return type == &detail::type_of<T> ? &static_cast<typed_message<T>*>(this)->value : nullptr;
}
template <class T>
bool message::is() const noexcept {
  return type == &detail::type_of<T>;
}

/// Allocates an envelope holding `T(args...)`. The caller hands it to a send, which takes ownership.
template <class T, class... A>
message* make_message(A&&... args) {
  static_assert(std::is_nothrow_destructible_v<T>);
  auto* m = new typed_message<T>(std::forward<A>(args)...);
  m->type = &detail::type_of<T>;
  return m;
}

/// A C++ type name made readable ("agner::detail::ping" rather than "N5agner6detail4pingE").
std::string demangle(const char* mangled);

/// Destroys an envelope and its payload.
inline void destroy(message* m) noexcept { m->type->destroy(m); }

}  // namespace agner
