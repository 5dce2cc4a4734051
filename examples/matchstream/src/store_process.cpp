// The store process: batches what match processes ask it to keep and writes each batch to SQLite on
// the blocking pool, one batch at a time.
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "agner/runtime/behaviour.hpp"
#include "agner/runtime/runtime.hpp"
#include "store.hpp"

namespace matchstream {

namespace {

class store_process final : public agner::behaviour {
 public:
  explicit store_process(database& db) : db_(&db) {}

  void handle(agner::context& ctx, agner::message& m) override {
    if (auto* w = m.get<store_write>()) {
      pending_.push_back(std::move(w->w));
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
    ctx.run_blocking(
        [db = db_, batch] {
          db->save(*batch);
          return batch->size();
        },
        [this](agner::context& c, agner::reply& r) {
          busy_ = false;
          ++batches_;
          if (r.ok()) {
            written_ += r.as<std::size_t>();
          } else {
            ++failed_;
            auto* why = r.get<std::string>();
            c.node().log(fmt::format("matchstream store: a batch was not written: {}", why ? *why : "unknown error"));
          }
          if (!pending_.empty()) flush(c);
        });
  }

  database* db_;
  std::vector<database::write> pending_;
  bool busy_ = false;
  std::uint64_t written_ = 0, batches_ = 0, failed_ = 0;
};

}  // namespace

agner::pid spawn_store(agner::runtime& rt, database& db) {
  return rt.spawn_with<store_process>(agner::spawn_options{.name = "store"}, db);
}

agner::child_spec store_child(database& db) {
  agner::child_spec c;
  c.id = "store";
  c.start = [d = &db](agner::context& ctx) { return ctx.spawn_link_with<store_process>(agner::spawn_options{.name = "store"}, *d); };
  return c;
}

}  // namespace matchstream
