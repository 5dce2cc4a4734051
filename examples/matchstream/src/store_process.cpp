// The store process: batches what match processes ask it to keep and writes each batch to SQLite on
// the blocking pool, one batch at a time.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "agner/runtime/behaviour.hpp"
#include "agner/runtime/runtime.hpp"
#include "messages.hpp"
#include "store.hpp"

namespace matchstream {

namespace {

class store_process final : public agner::behaviour {
 public:
  store_process(database& db, agner::exporter::counter* errors) : db_(&db), errors_(errors) {}

  void handle(agner::context& ctx, agner::message& m) override {
    if (auto* r = m.get<agner::request<store_write>>()) {
      pending_.push_back(std::move(r->body.w));
      answers_.push_back(r->from);
      if (!busy_) flush(ctx);
    } else {
      ctx.unhandled(m);
    }
  }

  std::string describe() const {
    return fmt::format("store: {} writes in {} batches, {} pending{}, {} failed batches", written_, batches_, pending_.size(),
                       busy_ ? ", one batch being written" : "", failed_);
  }

 private:
  void flush(agner::context& ctx) {
    busy_ = true;
    auto batch = std::make_shared<std::vector<database::write>>(std::move(pending_));
    pending_.clear();
    in_flight_ = std::move(answers_);
    answers_.clear();
    seqs_.clear();
    for (const auto& w : *batch) seqs_.push_back(w.event.seq);
    ctx.run_blocking(
        [db = db_, batch] {
          db->save(*batch);
          return batch->size();
        },
        [this](agner::context& c, agner::reply& r) {
          busy_ = false;
          ++batches_;
          // The matches (and through them the watchers) hear only now: an OK means the event is in the database.
          const std::size_t n = in_flight_.size();
          if (r.ok()) {
            written_ += r.as<std::size_t>();
            for (std::size_t k = 0; k < n; ++k)
              c.reply(in_flight_[k], event_result{seqs_[k], {}});
          } else {
            ++failed_;
            auto* why = r.get<std::string>();
            const std::string sentence = why ? *why : std::string("unknown error");
            if (errors_ != nullptr) errors_->inc(static_cast<double>(n));
            c.node().log(fmt::format("matchstream store: a batch of {} events was not written: {}", n, sentence));
            for (std::size_t k = 0; k < n; ++k)
              c.reply(in_flight_[k], event_result{0, "not stored: " + sentence});
          }
          in_flight_.clear();
          seqs_.clear();
          if (!pending_.empty()) flush(c);
        });
  }

  database* db_;
  agner::exporter::counter* errors_;
  std::vector<database::write> pending_;
  std::vector<agner::reply_to> answers_;    // pending_'s matches
  std::vector<agner::reply_to> in_flight_;  // the batch being written: its matches
  std::vector<std::int64_t> seqs_;                         // … and its seqs
  bool busy_ = false;
  std::uint64_t written_ = 0, batches_ = 0, failed_ = 0;
};

}  // namespace

agner::pid spawn_store(agner::runtime& rt, database& db, agner::exporter::counter* errors) {
  return rt.spawn_with<store_process>(agner::spawn_options{.name = "store"}, db, errors);
}

agner::child_spec store_child(database& db, agner::exporter::counter* errors) {
  agner::child_spec c;
  c.id = "store";
  c.start = [d = &db, errors](agner::context& ctx) {
    return ctx.spawn_link_with<store_process>(agner::spawn_options{.name = "store"}, *d, errors);
  };
  return c;
}

}  // namespace matchstream
