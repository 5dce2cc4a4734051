#include "agner/introspect/client.hpp"

#include <boost/asio.hpp>
#include <fmt/format.h>

#include "agner/introspect/json.hpp"
#include "agner/introspect/server.hpp"
#include "auth.hpp"

namespace agner::introspect {

namespace asio = boost::asio;
using nlohmann::json;

struct client::impl {
  asio::io_context io;
  asio::generic::stream_protocol::socket sock{io};
  std::string in;
  std::int64_t next_id = 1;
  std::string node, role;

  json exchange(json request) {
    request["id"] = next_id++;
    std::string line = request.dump() + "\n";
    boost::system::error_code ec;
    asio::write(sock, asio::buffer(line), ec);
    if (ec) throw client_error(fmt::format("connection lost: {}", ec.message()));
    std::size_t n = asio::read_until(sock, asio::dynamic_buffer(in, 64 << 20), '\n', ec);
    if (ec) throw client_error(ec == asio::error::eof ? "the node closed the connection" : fmt::format("connection lost: {}", ec.message()));
    json reply = json::parse(in.substr(0, n - 1), nullptr, false);
    in.erase(0, n);
    if (reply.is_discarded()) throw client_error("the node sent malformed JSON");
    if (!reply.value("ok", false)) throw client_error(reply.value("error", std::string("request failed")));
    return reply;
  }
};

client::client(std::unique_ptr<impl> i) : impl_(std::move(i)) {}
client::client(client&&) noexcept = default;
client& client::operator=(client&&) noexcept = default;
client::~client() = default;

client client::attach_unix(const std::string& path_or_name, const std::string& role) {
  auto i = std::make_unique<impl>();
  const std::string path = path_or_name.find('/') == std::string::npos
                               ? fmt::format("{}/{}.sock", default_socket_dir(), path_or_name)
                               : path_or_name;
  asio::local::stream_protocol::socket s(i->io);
  boost::system::error_code ec;
  s.connect(asio::local::stream_protocol::endpoint(path), ec);
  if (ec) throw client_error(fmt::format("cannot attach to {}: {}", path, ec.message()));
  i->sock = asio::generic::stream_protocol::socket(std::move(s));
  json hello = i->exchange({{"op", "hello"}, {"versions", {1}}, {"role", role}});
  i->node = hello.value("node", std::string());
  i->role = hello.value("role", role);
  return client(std::move(i));
}

client client::attach_tcp(const std::string& host, std::uint16_t port, const std::string& cookie_file,
                          const std::string& role) {
  const std::string key = detail::load_cookie(cookie_file, false);
  auto i = std::make_unique<impl>();
  asio::ip::tcp::socket s(i->io);
  boost::system::error_code ec;
  asio::ip::tcp::resolver resolver(i->io);
  auto endpoints = resolver.resolve(host, std::to_string(port), ec);
  if (!ec) asio::connect(s, endpoints, ec);
  if (ec) throw client_error(fmt::format("cannot attach to {}:{}: {}", host, port, ec.message()));
  i->sock = asio::generic::stream_protocol::socket(std::move(s));
  const std::string nonce = detail::random_hex(32);
  json hello = i->exchange({{"op", "hello"}, {"versions", {1}}, {"nonce", nonce}});
  i->node = hello.value("node", std::string());
  const std::string server_nonce = hello.value("nonce", std::string());
  const int version = hello.value("version", 1);
  json ok = i->exchange({{"op", "auth"},
                         {"role", role},
                         {"proof", detail::proof(key, "agner-client", nonce, server_nonce, i->node, version)}});
  if (!detail::same_secret(ok.value("proof", std::string()),
                           detail::proof(key, "agner-server", nonce, server_nonce, i->node, version)))
    throw client_error(fmt::format("{}:{} did not prove it knows the key: not the node you meant", host, port));
  i->role = ok.value("role", role);
  return client(std::move(i));
}

const std::string& client::node() const noexcept { return impl_->node; }
const std::string& client::role() const noexcept { return impl_->role; }

json client::call(json request) { return impl_->exchange(std::move(request)); }

node_info client::system_info() { return node_info_from_json(call({{"op", "system_info"}}).at("node")); }

std::vector<process_row> client::top(const std::string& sort, std::size_t n, const std::string& filter) {
  std::vector<process_row> rows;
  json req{{"op", "top"}, {"sort", sort}, {"n", n}};
  if (!filter.empty()) req["filter"] = filter;
  const json reply = call(std::move(req));
  for (auto& r : reply.at("processes")) rows.push_back(process_row_from_json(r));
  return rows;
}

process_details client::process_info(const std::string& pid_or_name, std::size_t messages,
                                     std::chrono::milliseconds deadline) {
  json req{{"op", "process_info"}, {"messages", messages}, {"deadline_ms", deadline.count()}};
  req[pid_or_name.starts_with('<') ? "pid" : "name"] = pid_or_name;
  return process_details_from_json(call(std::move(req)).at("process"));
}

}  // namespace agner::introspect
