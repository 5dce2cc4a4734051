// A tool that reads nodes as etop does, on Agner::attach alone (no runtime): lists the local nodes
// and prints each one's process count, decoded into the snapshot types.
#include <cstdio>

#include <agner/attach/client.hpp>
#include <agner/attach/discovery.hpp>
#include <agner/snapshot/json.hpp>

int main() {
  for (const auto& name : agner::introspect::local_nodes()) {
    auto c = agner::introspect::client::attach_unix(name, "viewer");
    const agner::introspect::node_info n = c.system_info();
    std::printf("%s %u processes %s\n", name.c_str(), n.process_count, agner::introspect::to_json(n).at("name").get<std::string>().c_str());
  }
}
