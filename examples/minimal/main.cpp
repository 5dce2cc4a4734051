// A service with an embedded Agner node: two supervised greeters, a business counter and a valve;
// it serves etop and /metrics and loads alarm rules (--rules). The whole of docs/embedding.md's example.
#include <cstdio>

#include "agner/node/node.hpp"
#include "agner/runtime/supervisor.hpp"

using namespace agner;
using namespace std::chrono_literals;
struct tick {};

class greeter final : public behaviour {
 public:
  greeter(exporter::counter greeted, alarms::valve* ingress, std::size_t cls) : greeted_(greeted), ingress_(ingress), cls_(cls) {}
  void init(context& ctx) { ctx.node().send_after(100ms, ctx.self(), tick{}); }
  void handle(context& ctx, message& m) override {
    if (!m.is<tick>()) return;
    if (ingress_->admit(cls_)) greeted_.inc();  // under pressure the valve refuses: shed the work
    ctx.node().send_after(100ms, ctx.self(), tick{});
  }

 private:
  exporter::counter greeted_;
  alarms::valve* ingress_;
  std::size_t cls_;
};

int main(int argc, char** argv) try {
  auto options = node::parse_node_flags(argc, argv, "minimal", "minimal: a service with an embedded Agner node");
  node::host host(options, [](node::host& h) {  // runs before etop or /metrics can see the node
    auto greeted = h.metrics().make_counter("greetings_total", "Greetings the greeters made.");
    auto* ingress = &h.valve("ingress");
    auto cls = h.priority_class("normal");
    h.rt().spawn_with<supervisor>(spawn_options{.name = "greeter_sup"}, supervisor_flags{},
                                  std::vector{child_spec::worker<greeter>("greeter_1", greeted, ingress, cls),
                                              child_spec::worker<greeter>("greeter_2", greeted, ingress, cls)});
  });
  host.wait();  // until SIGTERM or SIGINT; SIGHUP reloads the rules
} catch (const std::exception& e) {
  std::fprintf(stderr, "minimal: %s\n", e.what());
  return 1;
}
