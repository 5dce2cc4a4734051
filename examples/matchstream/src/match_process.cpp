#include "match_process.hpp"

#include <optional>

#include <fmt/format.h>

namespace matchstream {

match_process::match_process(service* s, std::string id, match_status status, std::int64_t seq)
    : s_(s), id_(std::move(id)), status_(std::move(status)), seq_(seq) {
  s_->metrics.matches.inc();
}

match_process::~match_process() { s_->metrics.matches.dec(); }

void match_process::init(agner::context&) {
  // A match created for a start is not live until that start is applied: a client or GET /matches
  // sees nothing of it before (a stored match comes back started).
  if (status_.started) publish(false);
}

std::string match_process::describe() const {
  if (!status_.started) return fmt::format("match {}: not started, seq {}, {} subscribers", id_, seq_, subs_.size());
  return fmt::format("match {}: {} {} - {} {}, {}, seq {}, {} subscribers", id_, status_.home, status_.home_score,
                     status_.visit_score, status_.visit, status_.period, seq_, subs_.size());
}

void match_process::publish(bool ended) {
  match_summary m;
  m.id = id_;
  m.home = status_.home;
  m.visit = status_.visit;
  m.home_score = status_.home_score;
  m.visit_score = status_.visit_score;
  m.period = status_.period;
  m.seq = seq_;
  m.subscribers = ended ? 0 : subs_.size();
  m.ended = ended;
  s_->live.put(std::move(m));
}

void match_process::remove(agner::pid client) {
  auto it = at_.find(client);
  if (it == at_.end()) return;
  const std::size_t i = it->second;
  at_.erase(it);
  if (i + 1 != subs_.size()) {
    subs_[i] = subs_.back();
    at_[subs_[i].client] = i;
  }
  subs_.pop_back();
}

void match_process::handle(agner::context& ctx, agner::message& m) {
  if (auto* r = m.get<agner::request<register_event>>()) {
    on_event(ctx, *r);
  } else if (auto* sub = m.get<subscribe>()) {
    if (at_.count(sub->client)) return;
    if (!status_.started) {  // created for a start not yet applied: no status to send
      ctx.send(sub->client, refused{"unknown match " + escaped(id_), "unknown_match"});
      return;
    }
    const auto at = now_us();
    ctx.send(sub->client, block{agner::binary(render_status(status_, seq_, at)), seq_, at, false});
    at_.emplace(sub->client, subs_.size());
    subs_.push_back({sub->client, ctx.monitor(sub->client)});
    publish(false);
  } else if (auto* d = m.get<agner::down_message>()) {
    remove(d->who);
    publish(false);
  } else if (auto* u = m.get<unsubscribe>()) {
    if (auto it = at_.find(u->client); it != at_.end()) ctx.demonitor(subs_[it->second].monitor);
    remove(u->client);
    ctx.send(u->client, unsubscribed{});
    publish(false);
  } else {
    ctx.unhandled(m);
  }
}

void match_process::on_event(agner::context& ctx, agner::request<register_event>& r) {
  if (ended_) {  // waiting for the store to answer its end: an event now would be stored after it
    ctx.reply(r.from, event_result{0, "match ended"});
    return;
  }
  if (auto why = kind_error(r.body.event); !why.empty()) {  // the same sentence, started or not
    ctx.reply(r.from, event_result{0, std::move(why)});
    return;
  }
  if (!status_.started && r.body.event["kind"] != "start") {
    // Created for another watcher's start that has not arrived yet: as if the match did not exist.
    ctx.reply(r.from, event_result{0, fmt::format("unknown match {} (send a start event first)", escaped(id_))});
    return;
  }
  std::optional<agner::pid> store;
  if (s_->db && !(store = ctx.node().whereis("store"))) {
    // Refused before it is applied: no client sees an event its watcher is told was not stored.
    ctx.reply(r.from, event_result{0, "not stored: the store is not running"});
    return;
  }
  const auto at = now_us();
  auto a = apply_event(status_, r.body.event, seq_ + 1, at);
  if (!a.error.empty()) {
    ctx.reply(r.from, event_result{0, std::move(a.error)});
    return;
  }
  ++seq_;
  const std::string& kind = r.body.event["kind"].get_ref<const std::string&>();
  const bool last = kind == "end";
  s_->metrics.events_registered.inc();
  if (store) {
    store_write w;
    w.w.match = id_;
    w.w.event = stored_event{seq_, kind, r.body.event.dump(), at};
    w.w.status_json = to_json(status_);
    w.w.ended = last;
    // The match asks the store and answers the watcher itself: the request monitors the store, so a
    // store that stops with the write queued is a prompt "not stored", not the watcher's 30 s wait.
    // And an end answers the watcher before the match ends (its DOWN, "match ended", comes after).
    ctx.request(*store, std::move(w), std::chrono::seconds(30), [from = r.from, last](agner::context& c, agner::reply& stored) {
      if (auto* res = stored.get<event_result>()) {
        c.reply(from, *res);
      } else if (stored.outcome() == agner::reply::status::noproc) {
        auto* why = stored.get<std::string>();
        c.reply(from, event_result{0, fmt::format("not stored: the store stopped ({})", escaped(why ? *why : "noproc"))});
      } else {
        c.reply(from, event_result{0, "not stored: the store did not answer in 30 s"});
      }
      if (last) c.exit("normal");
    });
  }
  agner::binary shared(a.block);  // one copy into the shared block; every subscriber gets a reference
  for (const auto& sub : subs_) ctx.send(sub.client, block{shared, seq_, at, last});
  ctx.add_reductions(subs_.size() / 64);
  if (!s_->db) ctx.reply(r.from, event_result{seq_, {}});
  if (last) {
    ended_ = true;
    publish(true);
    for (const auto& sub : subs_) ctx.demonitor(sub.monitor);
    subs_.clear();
    at_.clear();
    if (!s_->db) ctx.exit("normal");  // else when the store has answered
  } else {
    publish(false);
  }
}

}  // namespace matchstream
