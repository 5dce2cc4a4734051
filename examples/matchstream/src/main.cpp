// matchstream: the MatchStream server (docs/matchstream.md) on an embedded Agner node: clients and
// watchers on one TCP listener, the HTTP API, the SQLite store, the standard node flags.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <boost/asio/ip/address.hpp>
#include <fmt/format.h>

#include "agner/snapshot/visible_text.hpp"
#include "agner/node/node.hpp"
#include "http_api.hpp"
#include "service.hpp"
#include "store.hpp"

namespace {

struct address {
  std::string host;
  std::uint16_t port = 0;
};

/// ADDR:PORT with an IP address (IPv6 in brackets) and a port from 0 to 65535.
address parse_address(const std::string& flag, const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0)
    throw CLI::ValidationError(fmt::format("{} wants ADDR:PORT (e.g. 127.0.0.1:7000), not '{}'", flag, text));
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string port = text.substr(colon + 1);
  char* end = nullptr;
  const long n = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || n < 0 || n > 65535)
    throw CLI::ValidationError(fmt::format("{} wants a port from 0 to 65535, not '{}'", flag, port));
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  if (ec) throw CLI::ValidationError(fmt::format("{} wants an IP address, not '{}'", flag, host));
  return {host, static_cast<std::uint16_t>(n)};
}

unsigned parse_count(const std::string& flag, const std::string& text, unsigned lo, unsigned hi) {
  char* end = nullptr;
  const long n = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || n < static_cast<long>(lo) || n > static_cast<long>(hi))
    throw CLI::ValidationError(fmt::format("{} wants a number from {} to {}, not '{}'", flag, lo, hi, text));
  return static_cast<unsigned>(n);
}

/// The node's data directory: $XDG_DATA_HOME/agner/NAME, else ~/.local/share/agner/NAME.
std::string default_db(const std::string& node_name) {
  std::filesystem::path base;
  if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x) base = x;
  else if (const char* h = std::getenv("HOME"); h && *h) base = std::filesystem::path(h) / ".local" / "share";
  else base = std::filesystem::temp_directory_path();
  auto dir = base / "agner" / node_name;
  std::filesystem::create_directories(dir);
  return (dir / "matchstream.db").string();
}

}  // namespace

int main(int argc, char** argv) {
  agner::node::node_options o;
  o.program = "matchstream";
  o.server.node_name = "matchstream";
  address listen{"127.0.0.1", 7000}, http{"127.0.0.1", 7080};
  std::string db_path;
  matchstream::service_options so;
  CLI::App app("matchstream: the MatchStream server (clients and watchers on --listen, the HTTP API on --http, matches in\n"
               "SQLite) on an embedded Agner node, until SIGTERM or SIGINT. See docs/matchstream.md.",
               "matchstream");
  app.allow_extras();
  agner::node::add_node_flags(app, o);
  app.add_option_function<std::string>("--listen", [&](const std::string& v) { listen = parse_address("--listen", v); },
                                       "clients and watchers connect here (port 0: any, printed)")
      ->type_name("ADDR:PORT")
      ->default_str("127.0.0.1:7000");
  app.add_option_function<std::string>("--http", [&](const std::string& v) { http = parse_address("--http", v); },
                                       "the HTTP API (GET /matches, GET /matches/<id>) serves here (port 0: any, printed)")
      ->type_name("ADDR:PORT")
      ->default_str("127.0.0.1:7080");
  app.add_option("--db", db_path, "the SQLite database (':memory:' keeps nothing); default: matchstream.db in the node's data "
                                  "directory ($XDG_DATA_HOME or ~/.local/share, then agner/NAME)")
      ->type_name("FILE");
  app.add_option_function<std::string>("--user-shards", [&](const std::string& v) { so.user_shards = parse_count("--user-shards", v, 1, 4096); },
                                       "user supervisors (user_sup_0..N-1) the users are spread over by the hash of their name")
      ->type_name("N")
      ->default_str("16");
  app.add_option_function<std::string>("--backlog", [&](const std::string& v) { so.backlog = static_cast<int>(parse_count("--backlog", v, 1, 1 << 20)); },
                                       "the listener's accept queue (the system caps it at net.core.somaxconn)")
      ->type_name("N")
      ->default_str("4096");
  agner::node::parse_or_exit(app, argc, argv, "matchstream");
  so.listen_address = listen.host;
  so.listen_port = listen.port;
  try {
    agner::node::block_stop_signals();  // before any thread: they inherit the mask
    if (db_path.empty()) db_path = default_db(o.server.node_name);
    auto db = matchstream::database::open(db_path);
    std::optional<matchstream::service> svc;
    std::uint16_t bound = 0;
    agner::node::host host(o, [&](agner::node::host& h) {
      svc.emplace(h.metrics());
      svc->admission = &h.valve("admission");
      svc->subscribe = &h.valve("subscribe");
      svc->priority = h.priority_class("normal");
      svc->db = db.get();
      bound = matchstream::start_service(h, *svc, so);
    });
    std::printf("matchstream: listening on %s:%u\n", listen.host.c_str(), bound);
    matchstream::http_api api(http.host, http.port, svc->live, *db);
    std::printf("matchstream: http on %s:%u\n", http.host.c_str(), api.port());
    std::printf("matchstream: database %s\n", db_path.c_str());
    std::fflush(stdout);
    host.wait();
    // Drain: watchers take no new line; the events already sent on get their answer (the store's
    // OK after its commit) before the runtime stops, for at most 1.5 s (a locked file costs 1 s).
    svc->draining.store(true);
    const auto drain_end = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
    while (svc->unanswered.load() > 0 && std::chrono::steady_clock::now() < drain_end)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    host.stop();  // the runtime's processes end before the service, the API and the database go
  } catch (const std::exception& e) {
    std::fprintf(stderr, "matchstream: %s\n", agner::visible_lines(e.what()).c_str());
    return 1;
  }
}
