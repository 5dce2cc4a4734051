// agner-ctl: operate a node from scripts, one attach-protocol request per run (docs/ctl.md).
// Exit codes: 0 done, 1 the node refused (its error is printed), 2 usage error or cannot connect.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "agner/ctl/text.hpp"
#include "agner/introspect/server.hpp"
#include "commands.hpp"
#include "target.hpp"

namespace {

using namespace agner::ctl;
using nlohmann::json;

struct flags {
  std::string node, tcp, cookie_file, role = "admin";
  bool json = false;
};

/// One subcommand's arguments; only those of the chosen subcommand are filled.
struct arguments {
  std::string who, id, valve, severity, description, reason, sort = "msgq", filter, override_mode;
  int history = 50, n = 20, messages = 10, deadline_ms = 500;
  double for_s = 0;
  bool clear_override = false;
};

int finish(const result& r) {
  std::fputs(r.out.c_str(), stdout);
  std::fputs(r.err.c_str(), stderr);
  return r.code;
}

int complain(int code, const std::string& why) {
  std::fprintf(stderr, "agner-ctl: %s\n", visible(why).c_str());
  return code;
}

int list_nodes(const flags& f) {
  const auto dir = agner::introspect::default_socket_dir();
  const auto names = agner::introspect::local_nodes(dir);
  if (f.json) {
    json nodes = json::array();
    for (auto& n : names) nodes.push_back({{"name", n}, {"socket", fmt::format("{}/{}.sock", dir, n)}});
    std::printf("%s\n", json_line({{"dir", dir}, {"nodes", nodes}}).c_str());
  } else {
    for (auto& n : names) std::printf("%s\n", visible(n).c_str());
  }
  return 0;
}

int run(const flags& f, const command& c) {
  const target t = resolve(f.node, f.tcp, f.cookie_file, f.role);
  auto client = attach(t);
  json reply;
  try {
    reply = client.call(c.request);
  } catch (const agner::introspect::client_error& e) {
    const std::string why = e.what();
    if (e.code() == "bad_argument") return complain(2, why);
    if (connection_problem(e.code())) return complain(2, fmt::format("lost the connection to {}: {}", t.display, why));
    if (f.json) std::printf("%s\n", json_line({{"ok", false}, {"code", e.code()}, {"error", why}}).c_str());
    return complain(1, why);
  }
  const result r = c.render(reply);
  if (!f.json) return finish(r);
  std::printf("%s\n", json_line(reply).c_str());
  return r.code;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  flags f;
  if (const char* home = std::getenv("HOME")) f.cookie_file = fmt::format("{}/.config/agner/cookie", home);
  arguments a;

  CLI::App app{"Operate a running Agner node from scripts: one attach-protocol request per run (docs/ctl.md).\n"
               "Exit codes: 0 done, 1 the node refused (its error is printed), 2 usage error or cannot connect.",
               "agner-ctl"};
  app.fallthrough();  // the node flags may come after the subcommand too
  app.require_subcommand(1);
  app.add_option("NODE", f.node, "node name (socket in the local socket directory) or socket path; default: the only local node");
  app.add_option("--tcp", f.tcp, "attach over TCP to HOST:PORT (HMAC with --cookie-file)");
  app.add_option("--cookie-file", f.cookie_file, "the key for TCP (default ~/.config/agner/cookie)");
  app.add_option("--role", f.role, "the role to ask for (default admin)")->check(CLI::IsMember({"admin", "viewer"}));
  app.add_flag("--json", f.json, "print the node's reply as one line of JSON");

  auto* nodes = app.add_subcommand("nodes", "list the nodes running here (no request)");
  auto* info = app.add_subcommand("info", "the node's figures (system_info), or one process's (process_info)");
  info->add_option("PID|NAME", a.who, "a pid like <0.5.1> or a registered name");
  info->add_option("--messages", a.messages, "queued messages to list (default 10)")->check(CLI::Range(0, 100));
  info->add_option("--deadline-ms", a.deadline_ms, "how long the process may take to describe itself (1 to 5000, default 500)")
      ->check(CLI::Range(1, 5000));
  auto* alarms = app.add_subcommand("alarms", "the active alarms");
  auto* history = app.add_subcommand("history", "the last N alarm transitions");
  history->add_option("N", a.history, "how many (default 50)")->check(CLI::Range(1, 1000));
  auto* ack = app.add_subcommand("ack", "acknowledge an active alarm");
  ack->add_option("ID", a.id, "the alarm's id")->required();
  auto* set = app.add_subcommand("set", "raise (or change) an application alarm");
  set->add_option("ID", a.id, "the alarm's id")->required();
  set->add_option("--severity", a.severity, "critical, major, minor or warning")
      ->required()
      ->check(CLI::IsMember({"critical", "major", "minor", "warning"}));
  set->add_option("--description", a.description, "shown with the alarm (at most 256 characters kept)");
  auto* clear = app.add_subcommand("clear", "clear an active alarm");
  clear->add_option("ID", a.id, "the alarm's id")->required();
  auto* valves = app.add_subcommand("valves", "the valves: pressure, override, offered and shed counts");
  auto* valve = app.add_subcommand("valve", "hold a valve open or closed for a while, or lift the hold");
  valve->add_option("NAME", a.valve, "the valve's id")->required();
  auto* override_mode = valve->add_option("--override", a.override_mode, "open (or 0: shed nothing) or closed (or 1: shed all but system)");
  auto* for_s = valve->add_option("--for", a.for_s, "seconds the override lasts (0.001 to 86400)")->check(CLI::Range(0.001, 86400.0));
  auto* lift = valve->add_flag("--clear-override", a.clear_override, "back to following its alarms");
  override_mode->needs(for_s);
  for_s->needs(override_mode);
  override_mode->excludes(lift);
  auto* reload = app.add_subcommand("reload-rules", "reload the node's rules file");
  auto* top = app.add_subcommand("top", "the processes ranked by a key");
  top->add_option("--sort", a.sort, "msgq (default), reductions, reductions_window, received, memory, gc, age")
      ->check(CLI::IsMember({"msgq", "reductions", "reductions_window", "received", "memory", "gc", "age"}));
  top->add_option("--n", a.n, "rows (1 to 1000, default 20)")->check(CLI::Range(1, 1000));
  top->add_option("--filter", a.filter, "only processes whose registered name or behaviour contains this");
  auto* kill = app.add_subcommand("kill", "send a process an exit signal");
  kill->add_option("PID|NAME", a.who, "a pid like <0.5.1> or a registered name")->required();
  auto* reason = kill->add_option("--reason", a.reason, "the exit reason (1 to 256 characters, default kill)");
  auto* gc = app.add_subcommand("gc", "garbage-collect a process's heap");
  auto* suspend = app.add_subcommand("suspend", "suspend a process");
  auto* resume = app.add_subcommand("resume", "resume a suspended process");
  for (auto* s : {gc, suspend, resume}) s->add_option("PID|NAME", a.who, "a pid like <0.5.1> or a registered name")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    if (app.get_subcommands().empty()) {  // CLI11 would only say "A subcommand is required"
      std::string names;
      for (auto* s : app.get_subcommands({})) names += (names.empty() ? "" : ", ") + s->get_name();
      const auto extra = app.remaining();
      if (!extra.empty()) return complain(2, fmt::format("unknown subcommand '{}' (subcommands: {})", extra.front(), names));
      if (!f.node.empty())
        return complain(2, fmt::format("no subcommand after NODE '{}' (subcommands: {})", f.node, names));
      return complain(2, fmt::format("a subcommand is required (subcommands: {})", names));
    }
    return complain(2, fmt::format("{} (agner-ctl --help lists the subcommands and flags)", e.what()));
  }

  try {
    if (nodes->parsed()) return list_nodes(f);
    std::optional<command> c;
    if (info->parsed()) c = a.who.empty() ? system_info() : process_info(a.who, a.messages, a.deadline_ms);
    if (alarms->parsed()) c = agner::ctl::alarms();
    if (history->parsed()) c = agner::ctl::history(a.history);
    if (ack->parsed()) c = ack_alarm(a.id);
    if (set->parsed()) c = set_alarm(a.id, a.severity, a.description);
    if (clear->parsed()) c = clear_alarm(a.id);
    if (valves->parsed()) c = agner::ctl::valves();
    if (valve->parsed()) {
      if (a.clear_override) {
        c = override_valve(a.valve, "automatic", 0);
      } else {
        std::string mode = a.override_mode == "0" ? "open" : a.override_mode == "1" ? "closed" : a.override_mode;
        if (mode.empty()) throw failure(2, "valve wants --override open|closed --for SECONDS, or --clear-override");
        if (mode != "open" && mode != "closed")
          throw failure(2, fmt::format("--override is open (0) or closed (1), not '{}': the protocol holds a valve "
                                       "open or closed, it takes no pressure in between",
                                       mode));
        c = override_valve(a.valve, mode, static_cast<std::int64_t>(a.for_s * 1000 + 0.5));
      }
    }
    if (reload->parsed()) c = reload_rules();
    if (top->parsed()) c = agner::ctl::top(a.sort, a.n, a.filter);
    if (kill->parsed()) {
      // Given but empty is a mistake (an unset variable in a script), not a request for the default "kill".
      if (reason->count() > 0 && a.reason.empty())
        throw failure(2, "--reason wants an exit reason of 1 to 256 characters, not an empty one (leave it out for kill)");
      c = process_op("kill", a.who, a.reason);
    }
    if (gc->parsed()) c = process_op("garbage_collect", a.who, "");
    if (suspend->parsed()) c = process_op("suspend", a.who, "");
    if (resume->parsed()) c = process_op("resume", a.who, "");
    return run(f, *c);
  } catch (const failure& e) {
    return complain(e.code, e.what());
  } catch (const std::exception& e) {
    return complain(1, fmt::format("unexpected reply from the node: {}", e.what()));
  }
}
