// libFuzzer target: how the attach client decodes a node's reply line (introspect/src/client.cpp):
// the depth check, the parse, then each typed decoder. Anything but a decoded value or a
// nlohmann::json::exception (which the client turns into client_error "bad_reply") is a bug.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "agner/snapshot/json.hpp"

namespace {

using nlohmann::json;
using namespace agner::introspect;

template <class F>
void decoded(F&& f) {
  try {
    f();
  } catch (const json::exception&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view line(reinterpret_cast<const char*>(data), size);
  if (nested_deeper_than(line, max_json_depth)) return 0;
  json reply = json::parse(line, nullptr, false);
  if (reply.is_discarded() || !reply.is_object()) return 0;
  // The fields the client reads (client.cpp): the envelope, then the typed bodies.
  decoded([&] { (void)reply.value("ok", false); });
  decoded([&] { (void)reply.at("error").get<std::string>(); });
  decoded([&] { (void)reply.at("code").get<std::string>(); });
  decoded([&] { (void)hello_version(reply.at("version")); });
  decoded([&] { (void)reply.at("nonce").get<std::string>(); });
  decoded([&] { (void)reply.at("proof").get<std::string>(); });
  decoded([&] { (void)node_info_from_json(reply.at("node")); });
  decoded([&] {
    for (auto& r : reply.at("processes")) (void)process_row_from_json(r);
  });
  decoded([&] { (void)process_details_from_json(reply.at("process")); });
  // A reply that is itself a body, as agner-ctl and etop may hand one on.
  decoded([&] { (void)node_info_from_json(reply); });
  decoded([&] { (void)process_row_from_json(reply); });
  decoded([&] { (void)process_details_from_json(reply); });
  return 0;
}
