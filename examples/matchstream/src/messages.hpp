#pragma once
/// The messages MatchStream's processes exchange. Each has an fmt formatter, so etop's inspect view
/// shows queued ones by kind and seq rather than by type name and size.
#include <cstdint>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "agner/runtime/binary.hpp"
#include "agner/snapshot/pid.hpp"
#include "agner/runtime/request.hpp"
#include "match.hpp"

namespace matchstream {

/// Match -> client: one rendered block, shared by every subscriber (a reference, never a copy).
/// `last` is the `end` block: the client closes after writing it.
struct block {
  agner::binary bytes;
  std::int64_t seq = 0;
  std::int64_t at_us = 0;  ///< when the match registered it (for the latency histogram)
  bool last = false;
};

/// User -> match: send `client` the status now and every block from now on. The match monitors the
/// client (not a link: a client's end is no error of the match's).
struct subscribe {
  agner::pid client;
  agner::pid user;
};
/// Client -> match: stop sending; answered with `unsubscribed` after every block sent before it.
struct unsubscribe {
  agner::pid client;
};
struct unsubscribed {};
/// User -> client: the subscription was refused (the sentence follows "ERROR: ").
struct refused {
  std::string why;
  std::string reason;  ///< the refused-connection counter's label
};

/// Watcher -> match, as a request: one event as the watcher sent it. Answer: event_result, from the
/// match when it refuses the event or has no store, else from the store once the event is committed.
struct register_event {
  nlohmann::json event;  ///< an object with a string "kind"
};
struct event_result {
  std::int64_t seq = 0;  ///< the event's seq when error is empty
  std::string error;
};

/// The client's first-line deadline (to itself).
struct first_line_deadline {};
/// The client's wait for `unsubscribed` after a send-buffer-full close (to itself).
struct drain_deadline {};

}  // namespace matchstream

template <>
struct fmt::formatter<matchstream::block> : fmt::formatter<std::string_view> {
  auto format(const matchstream::block& b, format_context& ctx) const {
    return fmt::format_to(ctx.out(), "block {} seq={} ({} bytes){}", matchstream::block_kind(b.bytes.view()), b.seq,
                          b.bytes.size(), b.last ? " last" : "");
  }
};
template <>
struct fmt::formatter<matchstream::subscribe> : fmt::formatter<std::string_view> {
  auto format(const matchstream::subscribe& s, format_context& ctx) const {
    return fmt::format_to(ctx.out(), "subscribe client={} user={}", s.client, s.user);
  }
};
template <>
struct fmt::formatter<matchstream::unsubscribe> : fmt::formatter<std::string_view> {
  auto format(const matchstream::unsubscribe& s, format_context& ctx) const {
    return fmt::format_to(ctx.out(), "unsubscribe client={}", s.client);
  }
};
template <>
struct fmt::formatter<matchstream::register_event> : fmt::formatter<std::string_view> {
  auto format(const matchstream::register_event& e, format_context& ctx) const {
    auto k = e.event.find("kind");
    return fmt::format_to(ctx.out(), "event {} ({} fields)", k != e.event.end() && k->is_string() ? k->get<std::string>() : "?",
                          e.event.size());
  }
};
/// A watcher's event as the match's mailbox holds it (a request): shown as the event.
template <>
struct fmt::formatter<agner::request<matchstream::register_event>> : fmt::formatter<matchstream::register_event> {
  auto format(const agner::request<matchstream::register_event>& r, format_context& ctx) const {
    return fmt::formatter<matchstream::register_event>::format(r.body, ctx);
  }
};
template <>
struct fmt::formatter<matchstream::event_result> : fmt::formatter<std::string_view> {
  auto format(const matchstream::event_result& r, format_context& ctx) const {
    return r.error.empty() ? fmt::format_to(ctx.out(), "OK {}", r.seq) : fmt::format_to(ctx.out(), "ERROR: {}", r.error);
  }
};
