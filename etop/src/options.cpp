// etop's command line: options.hpp.
#include "options.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "agner/attach/discovery.hpp"
#include "agner/etop/groups_view.hpp"
#include "agner/etop/text.hpp"
#include "terminal.hpp"

namespace agner::etop {

namespace {

constexpr const char* usage = R"(usage: etop [OPTIONS] [NODE...]
  NODE is a node name (its socket is in the local socket directory), a socket path, or
  HOST:PORT for TCP. Without NODE, etop attaches to the only node running here, or asks which.
  Several NODEs (or --all) show every node's processes in one table, with a NODE column.
  --all                every node running here (local discovery), in one view
  --interval SECONDS   refresh every SECONDS (default 2)
  --cookie-file FILE   the key for TCP (default ~/.config/agner/cookie)
  --role admin|viewer  the role to ask for (default admin; a viewer cannot kill, collect or suspend)
  --batch              print instead of drawing: --iterations refreshes, then exit
  --iterations N       batch refreshes (default 1)
  --json               batch: one JSON document per refresh ({"node": ..., "processes": [...]})
  --sort COLUMN        pid, name, msgq (default), reductions, memory, gc, age, status, handler
                       (with --groups: group, processes, msgq, max_msgq, memory, reductions, gc)
  --groups             start on the grouped table (G); with --batch, print it instead of processes
  --lines N            batch: rows per refresh (default 20)
  --inspect PID|NAME   print one process (with --json: as JSON) and exit
  --record FILE        also write every refresh to FILE (JSON, one line each; created 0600)
  --force              --record: overwrite FILE if it exists (else etop refuses)
  --replay FILE        play a recording back in the same screens (no node); with --batch: print it
  --tree               batch: print the supervision tree instead of the table (--json: the
                       node's supervision_tree reply)
  --trace PID|NAME     batch: print the process's messages as they come, until the budget ends
                       (admin role)
  --count N            T and --trace: stop after N messages (1-10000, default 100)
  --seconds T          T and --trace: stop after T seconds (1-3600, default 60)
  --rate R             T and --trace: show at most R messages a second, count the rest (1-1000, default 20)
  --timeout SECONDS    how long each request waits for the node before etop gives up on it
                       (0.1-3600; default 5 with --inspect and --batch --groups/--tree/--trace:
                       they then stop with a sentence and status 1; else 20, and the node is
                       marked NOT ANSWERING meanwhile, then retried)
  --help               this text
  Each option that takes a value also takes it as --option=VALUE.
Keys: h inside etop, or docs/etop.md.
)";

/// --timeout's default for the one-shot modes (--batch, --inspect): a stopped node (SIGSTOP) keeps
/// its socket open, and a script should hear so in seconds, not after the 20 s reply deadline.
constexpr double one_shot_timeout_s = 5;


/// `text` as a whole number from `min` to `max`, or nullopt: nothing but digits (atoi would read
/// "4000abc" as 4000 and "x" as 0).
std::optional<long> whole_number(const std::string& text, long min, long max) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos || text.size() > 9) return std::nullopt;
  const long v = std::strtol(text.c_str(), nullptr, 10);
  if (v < min || v > max) return std::nullopt;
  return v;
}

/// `text` as seconds from `min` to `max` (a decimal number, nothing after it), or nullopt.
std::optional<double> seconds_value(const std::string& text, double min, double max) {
  char* end = nullptr;
  const double s = std::strtod(text.c_str(), &end);
  if (text.empty() || *end || !(s >= min && s <= max)) return std::nullopt;
  return s;
}


/// Turns NODE (or nothing) into a target; asks on the terminal when several nodes run here.
target resolve(const std::string& node, const std::string& cookie, const std::string& role, bool may_ask) {
  target t;
  t.role = role;
  t.cookie_file = cookie;
  if (node.empty()) {
    const auto dir = introspect::default_socket_dir();
    auto names = introspect::local_nodes(dir);
    if (names.empty()) fail(fmt::format("no node is running here (looked in {}); start one with agner-node, or give NODE", dir), 1);
    std::string chosen = names.front();
    if (names.size() > 1) {
      if (!may_ask) fail(fmt::format("several nodes run here ({}); say which", fmt::join(names, ", ")), 1);
      std::printf("Nodes running here:\n");
      for (std::size_t i = 0; i < names.size(); ++i) std::printf("  %zu) %s\n", i + 1, printable(names[i]).c_str());
      std::printf("Attach to which? ");
      std::fflush(stdout);
      std::string answer;
      std::getline(std::cin, answer);
      while (!answer.empty() && (answer.back() == ' ' || answer.back() == '\r')) answer.pop_back();
      while (!answer.empty() && answer.front() == ' ') answer.erase(0, 1);
      const auto pick = whole_number(answer, 1, static_cast<long>(names.size()));
      if (!pick) fail("no node chosen", 1);
      chosen = names[static_cast<std::size_t>(*pick - 1)];
    }
    t.display = t.unix_path = chosen;
    return t;
  }
  t.display = node;
  const auto colon = node.rfind(':');
  if (node.find('/') == std::string::npos && colon != std::string::npos) {
    t.host = node.substr(0, colon);
    const auto port = whole_number(node.substr(colon + 1), 1, 65535);
    if (!port) fail(fmt::format("'{}' is not HOST:PORT (a port from 1 to 65535)", node));
    t.port = static_cast<std::uint16_t>(*port);
  } else {
    t.unix_path = node;
  }
  return t;
}

/// Two spellings of one node (`alpha` and its socket's path, `./x.sock` and `x.sock`) would show
/// its rows twice and double the header's sums: refused, naming both.
void refuse_same_node(const std::vector<target>& nodes) {
  std::vector<std::string> seen;
  for (const auto& t : nodes) {
    std::string where = fmt::format("{}:{}", t.host, t.port);
    if (t.host.empty()) {
      const std::string path = t.unix_path.find('/') == std::string::npos
                                   ? fmt::format("{}/{}.sock", introspect::default_socket_dir(), t.unix_path)
                                   : t.unix_path;
      std::error_code ec;
      const auto canonical = std::filesystem::weakly_canonical(path, ec);
      where = ec ? path : canonical.string();
    }
    for (std::size_t i = 0; i < seen.size(); ++i)
      if (seen[i] == where)
        fail(fmt::format("NODE '{}' and '{}' are the same node ({})", nodes[i].display, t.display, where));
    seen.push_back(where);
  }
}

}  // namespace

[[noreturn]] void fail(const std::string& why, int code) {
  std::fprintf(stderr, "etop: %s\n", printable(why).c_str());
  if (code == 2) std::fputs(usage, stderr);
  std::exit(code);
}

std::optional<column_id> column_named(const std::string& name) {
  static const std::pair<const char*, column_id> names[] = {
      {"pid", column_id::pid},       {"name", column_id::name}, {"msgq", column_id::msgq},
      {"reductions", column_id::reductions}, {"memory", column_id::memory}, {"gc", column_id::gc},
      {"age", column_id::age},       {"status", column_id::status}, {"handler", column_id::handler}};
  for (auto& [n, id] : names)
    if (name == n) return id;
  return std::nullopt;
}

options parse(int argc, char** argv) {
  options o;
  std::string node, cookie, role = "admin";
  std::vector<std::string> more;  // NODEs after the first
  bool every = false;             // --all
  if (const char* home = std::getenv("HOME")) cookie = fmt::format("{}/.config/agner/cookie", home);
  // --opt=value is --opt value, as agner-node and agner-ctl take it: split before parsing.
  static const std::string_view with_value[] = {"--interval", "--cookie-file", "--role", "--iterations",
                                                "--lines",    "--sort",        "--inspect", "--record", "--replay",
                                                "--trace",    "--count",       "--seconds",   "--rate",
                                                "--timeout"};
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto eq = a.find('=');
    if (!a.starts_with("--") || eq == std::string::npos) {
      args.push_back(a);
      continue;
    }
    const std::string name = a.substr(0, eq);
    if (std::find(std::begin(with_value), std::end(with_value), name) == std::end(with_value))
      fail(name == "--batch" || name == "--json" || name == "--help" || name == "--groups" || name == "--force" || name == "--all" || name == "--tree" ? fmt::format("{} takes no value", name)
                                                                     : fmt::format("unknown option '{}'", name));
    args.push_back(name);
    args.push_back(a.substr(eq + 1));
  }
  auto value = [&](std::size_t& i) -> const std::string& {
    if (i + 1 >= args.size()) fail(fmt::format("{} needs a value", args[i]));
    return args[++i];
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::fputs(usage, stdout);
      std::exit(0);
    } else if (a == "--interval") {
      const auto s = seconds_value(value(i), 0.1, 3600);
      if (!s) fail("--interval wants seconds from 0.1 to 3600");
      o.interval = *s;
    } else if (a == "--timeout") {
      const auto s = seconds_value(value(i), 0.1, 3600);
      if (!s) fail("--timeout wants seconds from 0.1 to 3600");
      o.timeout_s = *s;
    } else if (a == "--cookie-file") {
      cookie = value(i);
    } else if (a == "--role") {
      role = value(i);
      if (role != "admin" && role != "viewer") fail("--role is admin or viewer");
    } else if (a == "--batch") {
      o.batch = true;
    } else if (a == "--json") {
      o.json = true;
    } else if (a == "--groups") {
      o.groups = true;
    } else if (a == "--tree") {
      o.tree = true;
    } else if (a == "--iterations") {
      const auto n = whole_number(value(i), 1, 100'000'000);
      if (!n) fail("--iterations wants a positive number");
      o.iterations = static_cast<int>(*n);
    } else if (a == "--lines") {
      const auto n = whole_number(value(i), 1, 1000);
      if (!n) fail("--lines wants a number from 1 to 1000");
      o.lines = static_cast<std::size_t>(*n);
    } else if (a == "--sort") {
      o.sort = value(i);
    } else if (a == "--inspect") {
      o.inspect = value(i);
    } else if (a == "--record") {
      o.record = value(i);
    } else if (a == "--replay") {
      o.replay = value(i);
    } else if (a == "--force") {
      o.force = true;
    } else if (a == "--all") {
      every = true;
    } else if (a == "--trace") {
      o.trace = value(i);
      if (o.trace.empty()) fail("--trace wants a pid (<0.5.1>) or a registered name");
    } else if (a == "--count" || a == "--seconds" || a == "--rate") {
      const long hi = a == "--count" ? 10'000 : a == "--seconds" ? 3600 : 1000;
      char* end = nullptr;
      const std::string& text = value(i);
      const long n = std::strtol(text.c_str(), &end, 10);
      if (text.empty() || *end || n < 1 || n > hi) fail(fmt::format("{} wants a number from 1 to {}", a, hi));
      if (a == "--count") {
        o.budget.count = static_cast<std::uint64_t>(n);
      } else {
        (a == "--seconds" ? o.budget.seconds : o.budget.rate) = static_cast<std::uint32_t>(n);
      }
    } else if (a.starts_with("-")) {
      fail(fmt::format("unknown option '{}'", a));
    } else if (node.empty()) {
      node = a;
    } else {
      more.push_back(a);
    }
  }
  if (o.groups ? !group_column_named(o.sort) : !column_named(o.sort))
    fail(fmt::format("unknown {}column '{}'", o.groups ? "--groups " : "", o.sort));
  if (every && !node.empty()) fail("--all takes no NODE (it shows every node running here)");
  const bool several = every || !more.empty();
  if (several && (!o.inspect.empty() || !o.replay.empty())) fail("--inspect and --replay take one NODE");
  if (several && !every) {
    auto sorted = more;
    sorted.push_back(node);
    std::sort(sorted.begin(), sorted.end());
    if (auto twice = std::adjacent_find(sorted.begin(), sorted.end()); twice != sorted.end())
      fail(fmt::format("NODE '{}' is named twice", *twice));
  }
  if (!o.replay.empty() && (!node.empty() || !o.record.empty() || !o.inspect.empty()))
    fail("--replay plays a recording: it takes no NODE, --record or --inspect");
  if (!o.record.empty() && !o.inspect.empty()) fail("--record records refreshes: it does not go with --inspect");
  if (o.force && o.record.empty()) fail("--force goes with --record");
  if (o.groups && (several || !o.record.empty() || !o.replay.empty()))
    fail("--groups shows one node's grouped table: it does not go with several nodes, --record or --replay");
  if (o.tree && !o.batch) fail("--tree goes with --batch (inside etop, press t)");
  if (o.tree && (several || o.groups || !o.record.empty()))
    fail("--tree prints one node's supervision tree: it does not go with several nodes, --groups or --record");
  if (!o.trace.empty() && !o.batch) fail("--trace prints a stream: give --batch too (inside etop, press T on a process)");
  if (!o.trace.empty() && (several || o.groups || o.tree || !o.record.empty() || !o.replay.empty() || !o.inspect.empty()))
    fail("--trace streams one process's messages: it does not go with several nodes, --groups, --tree, --record, --replay or --inspect");
  if (!o.batch && o.inspect.empty()) {
    // Refuse before attaching: a full screen written to a file, a pipe or a dumb terminal is noise.
    if (const std::string why = terminal::not_a_terminal(); !why.empty()) {
      std::fprintf(stderr, "etop: %s\n", why.c_str());
      std::exit(2);
    }
    // A terminal that cannot address its cursor still shows lines well: print batch refreshes
    // until interrupted, as `top -b` would, and say why once.
    if (const std::string why = terminal::cannot_draw(); !why.empty()) {
      std::fprintf(stderr, "etop: %s; printing --batch refreshes instead (Ctrl-C stops)\n", why.c_str());
      o.batch = true;
      o.iterations = std::numeric_limits<int>::max();
    }
  }
  // Every session etop opens waits this long per request: the one-shot modes give up soon. Plain
  // --batch marks a silent node NOT ANSWERING refresh after refresh, as the screen does: it keeps
  // the reply deadline unless told.
  const bool one_shot = !o.inspect.empty() || (o.batch && (o.groups || o.tree || !o.trace.empty()));
  std::chrono::milliseconds reply_within = introspect::reply_deadline;
  if (o.timeout_s || one_shot)
    reply_within = std::chrono::milliseconds(static_cast<std::int64_t>(o.timeout_s.value_or(one_shot_timeout_s) * 1000 + 0.5));
  if (several) {
    if (every) {
      const auto dir = introspect::default_socket_dir();
      more = introspect::local_nodes(dir);
      if (more.empty()) fail(fmt::format("--all: no node is running here (looked in {})", dir), 1);
    } else {
      more.insert(more.begin(), node);
    }
    for (auto& n : more) o.nodes.push_back(resolve(n, cookie, role, false));
    for (auto& t : o.nodes) t.reply_within = reply_within;
    if (!every) refuse_same_node(o.nodes);
    return o;
  }
  if (o.replay.empty()) o.where = resolve(node, cookie, role, !o.batch && o.inspect.empty() && isatty(0));
  o.where.reply_within = reply_within;
  return o;
}

}  // namespace agner::etop
