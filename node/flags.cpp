#include <algorithm>
#include "agner/node/flags.hpp"
#include "agner/snapshot/visible_text.hpp"

#include <cstdio>
#include <cstdlib>
#include <utility>  // before Asio (Boost 1.74's awaitable.hpp needs std::exchange)

#include <boost/asio/ip/address.hpp>
#include <fmt/format.h>

namespace agner::node {
namespace {

[[noreturn]] void refuse(std::string sentence) { throw CLI::ValidationError(std::move(sentence)); }

unsigned long number(const std::string& flag, const std::string& text, unsigned long min, unsigned long max) {
  char* end = nullptr;
  errno = 0;
  const unsigned long v = std::strtoul(text.c_str(), &end, 10);
  if (text.empty() || text[0] == '-' || text[0] == '+' || *end != '\0' || errno == ERANGE || v < min || v > max)
    refuse(fmt::format("{} wants a number from {} to {}, not '{}'", flag, min, max, text));
  return v;
}

std::string nonempty(const std::string& flag, const std::string& text) {
  if (text.empty()) refuse(fmt::format("{} wants a value, not an empty one", flag));
  return text;
}

/// ADDR:PORT with an IP address (IPv6 in brackets) and a port from 0 to 65535; loopback unless allowed.
std::string listen_address(const std::string& flag, const std::string& text, bool allow_remote, const char* allow_flag,
                           const char* risk) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) refuse(fmt::format("{} wants ADDR:PORT (e.g. 127.0.0.1:39150), not '{}'", flag, text));
  std::string host = text.substr(0, colon);
  const std::string port = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5 || std::stoul(port) > 65535)
    refuse(fmt::format("{} {}: the port must be a number from 0 (pick a free one) to 65535, not '{}'", flag, text, port));
  boost::system::error_code ec;
  const auto addr = boost::asio::ip::make_address(host, ec);
  if (ec) refuse(fmt::format("{} {}: '{}' is not an IP address", flag, text, host));
  if (!addr.is_loopback() && !allow_remote)
    refuse(fmt::format("{} {}: not a loopback address; add {} to serve it beyond this host ({})", flag, text, allow_flag, risk));
  return text;
}

}  // namespace

void add_node_flags(CLI::App& app, node_options& o) {
  if (const char* home = std::getenv("HOME")) o.server.cookie_file = fmt::format("{}/.config/agner/cookie", home);
  // Defined first: CLI11 runs option callbacks in definition order, so the address checks below see them.
  app.add_flag("--tcp-allow-remote", o.server.allow_remote_tcp,
               "let --listen-tcp take a non-loopback address (anyone who reaches the port may try the HMAC handshake)");
  app.add_flag("--metrics-allow-remote", o.metrics.allow_remote,
               "let --metrics-listen take a non-loopback address (/metrics has no authentication: anyone who reaches it reads "
               "the node's names and figures)");
  app.add_option_function<std::string>(
         "--name", [&o](const std::string& v) {
           if (auto problem = introspect::node_name_problem(v); !problem.empty()) refuse("--name: " + problem);
           o.server.node_name = v;
         },
         "node name; the socket is <socket dir>/NAME.sock")
      ->type_name("NAME")
      ->default_str(o.server.node_name);
  app.add_option_function<std::string>(
         "--schedulers", [&o](const std::string& v) { o.runtime.schedulers = static_cast<unsigned>(number("--schedulers", v, 1, 1024)); },
         "scheduler threads")
      ->type_name("N")
      ->default_str("one per core");
  app.add_option_function<std::string>(
         "--process-limit",
         [&o](const std::string& v) { o.runtime.process_limit = static_cast<std::uint32_t>(number("--process-limit", v, 1, 1u << 28)); },
         "most processes alive at once")
      ->type_name("N")
      ->default_str(std::to_string(o.runtime.process_limit));
  app.add_option_function<std::string>(
         "--socket", [&o](const std::string& v) { o.server.unix_path = nonempty("--socket", v); },
         "the Unix socket to serve introspection on, or off (the directory is 0700, the socket 0600)")
      ->type_name("PATH|off")
      ->default_str("$XDG_RUNTIME_DIR/agner/NAME.sock, or /tmp/agner-UID/NAME.sock");
  app.add_option_function<std::string>(
         "--listen-tcp",
         [&o](const std::string& v) {
           o.server.tcp_listen = listen_address("--listen-tcp", v, o.server.allow_remote_tcp, "--tcp-allow-remote",
                                                "anyone who reaches the port may try the HMAC handshake");
         },
         "also serve introspection on TCP at ADDR:PORT, with HMAC authentication")
      ->type_name("ADDR:PORT")
      ->default_str("off");
  app.add_option_function<std::string>(
         "--cookie-file", [&o](const std::string& v) { o.server.cookie_file = nonempty("--cookie-file", v); },
         "the admin key for TCP, created 0600 on first start")
      ->type_name("FILE")
      ->default_str("~/.config/agner/cookie");
  app.add_option_function<std::string>(
         "--viewer-cookie-file", [&o](const std::string& v) { o.server.viewer_cookie_file = nonempty("--viewer-cookie-file", v); },
         "a key that grants the viewer role over TCP")
      ->type_name("FILE")
      ->default_str("none");
  app.add_option_function<std::string>(
         "--metrics-listen",
         [&o](const std::string& v) {
           o.metrics.listen = v == "off" ? v
                                         : listen_address("--metrics-listen", v, o.metrics.allow_remote, "--metrics-allow-remote",
                                                          "/metrics has no authentication");
           o.metrics_chosen = true;
         },
         "serve Prometheus /metrics at ADDR:PORT, or off (if the default is busy the node says so and runs without)")
      ->type_name("ADDR:PORT|off")
      ->default_str(o.metrics.listen);
  app.add_option_function<std::vector<std::string>>(
         "--metrics-process",
         [&o](const std::vector<std::string>& names) {
           if (names.size() > 50) refuse(fmt::format("--metrics-process is given {} times; 50 at most", names.size()));
           for (auto& n : names) {
             if (std::find(o.metrics.processes.begin(), o.metrics.processes.end(), n) != o.metrics.processes.end())
               refuse(fmt::format("--metrics-process {} is given twice (each name gives one set of series)", n));
             o.metrics.processes.push_back(nonempty("--metrics-process", n));
           }
         },
         "also export per-process series for this registered name (repeatable, 50 at most)")
      ->allow_extra_args(false)
      ->type_name("NAME")
      ->default_str("none");
  app.add_option_function<std::string>(
         "--rules", [&o](const std::string& v) { o.rules = nonempty("--rules", v); },
         "alarm rules (docs/alarms.md); SIGHUP reloads them (a bad file keeps the old rules)")
      ->type_name("FILE")
      ->default_str("none");
  app.add_option_function<std::string>(
         "--spawn-valve",
         [&o](const std::string& v) { o.spawn_valve = v == "off" ? "" : nonempty("--spawn-valve", v); },
         "every spawn asks this valve (docs/alarms.md) and is refused under pressure, or off")
      ->type_name("NAME|off")
      ->default_str("off");
}

node_options parse_node_flags(int argc, char** argv, const std::string& program, const std::string& description) {
  node_options o;
  o.program = program;
  CLI::App app(description, program);
  app.allow_extras();  // reported below as "unknown flag --x", with the flag's name
  add_node_flags(app, o);
  parse_or_exit(app, argc, argv, program);
  return o;
}

void parse_or_exit(CLI::App& app, int argc, char** argv, const std::string& program) {
  try {
    app.parse(argc, argv);
    if (!app.remaining().empty()) throw CLI::ExtrasError(app.remaining());
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    std::exit(0);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "%s: %s\nusage: %s [OPTIONS]; %s --help lists them\n", program.c_str(), describe(e, app).c_str(),
                 program.c_str(), program.c_str());
    std::exit(2);
  }
}


std::string describe(const CLI::ParseError& e, const CLI::App& app) {
  if (dynamic_cast<const CLI::ExtrasError*>(&e)) {
    for (auto& arg : app.remaining())
      if (arg.starts_with("-")) return agner::visible_text(fmt::format("unknown flag {}", arg.substr(0, arg.find('='))));
    if (!app.remaining().empty()) return agner::visible_text(fmt::format("unexpected argument '{}'", app.remaining().front()));
  }
  return agner::visible_text(e.what());
}

}  // namespace agner::node
