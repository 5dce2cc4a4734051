// agner-node: a node host (agner/node/node.hpp) with a workload, until SIGTERM or SIGINT.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <fmt/format.h>

#include "agner/snapshot/visible_text.hpp"
#include "agner/node/node.hpp"
#include "agner/alarms/rules_file.hpp"  // check_rules_file
#include "workload.hpp"

namespace {

struct options : agner::node::node_options {
  std::string workload = "synthetic";
  unsigned long idle = 0;
};

/// The flags: the standard node flags (flags.hpp) and agner-node's own. Exits 0 after --help or
/// --check-rules, 2 on a bad flag (with a sentence naming it), 1 when --check-rules finds errors.
options parse(int argc, char** argv) {
  options o;
  CLI::App app("agner-node: runs an Agner node (a runtime, its introspection socket, /metrics and alarms) with a\n"
               "workload until SIGTERM or SIGINT; SIGHUP reloads the rules. See README.md.",
               "agner-node");
  app.allow_extras();  // reported below as "unknown flag --x", with the flag's name
  agner::node::add_node_flags(app, o);
  std::string check;
  app.add_option("--check-rules", check, "check a rules file, print every error with file:line:column, exit 0 if good, 1 if not")
      ->type_name("FILE");
  app.add_option_function<std::string>(
         "--idle-processes",
         [&o](const std::string& v) {
           char* end = nullptr;
           errno = 0;
           const unsigned long n = std::strtoul(v.c_str(), &end, 10);
           if (v.empty() || v[0] == '-' || *end != '\0' || errno == ERANGE || n > (1u << 28))
             throw CLI::ValidationError(fmt::format("--idle-processes wants a number from 0 to {}, not '{}'", 1u << 28, v));
           o.idle = n;
         },
         "also spawn N idle processes (to see how tools cope with many)")
      ->type_name("N")
      ->default_str("0");
  app.add_option_function<std::string>(
         "--workload",
         [&o](const std::string& v) {
           if (v != "synthetic" && v != "none") throw CLI::ValidationError(fmt::format("--workload is synthetic or none, not '{}'", v));
           o.workload = v;
         },
         "what to run: synthetic (supervised workers, a slow consumer fed in bursts, a process that crashes now and "
         "then, one that hibernates) or none")
      ->type_name("synthetic|none")
      ->default_str("synthetic");
  agner::node::parse_or_exit(app, argc, argv, "agner-node");
  // Checked here, before anything starts: past the limit a supervisor gives up at once and leaves a
  // node with half a workload.
  const unsigned long workload = o.workload == "synthetic" ? agner::node::synthetic_workload_processes : 0;
  if (o.runtime.process_limit < workload + o.idle) {
    std::fprintf(stderr,
                 "agner-node: --process-limit %u is below the %lu processes this node starts (%s workload: %lu, "
                 "--idle-processes: %lu); give at least %lu\nusage: agner-node [OPTIONS]; agner-node --help lists them\n",
                 o.runtime.process_limit, workload + o.idle, o.workload.c_str(), workload, o.idle, workload + o.idle);
    std::exit(2);
  }
  if (!check.empty()) {
    auto errors = agner::alarms::check_rules_file(check);
    for (auto& e : errors) std::fprintf(stderr, "%s\n", agner::visible_text(e).c_str());
    if (errors.empty()) std::printf("%s: the rules are good\n", agner::visible_text(check).c_str());
    std::exit(errors.empty() ? 0 : 1);
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  options o = parse(argc, argv);
  try {
    agner::node::block_stop_signals();  // before any thread: they inherit the mask
    // The workload starts before anyone can attach; the host stops everything in order (README.md, "Stopping").
    agner::node::host node(o, [&o](agner::node::host& h) {
      if (o.workload == "synthetic") agner::node::start_synthetic_workload(h.rt(), h.metrics(), h.alarms());
      for (unsigned long i = 0; i < o.idle; ++i) agner::node::spawn_idle(h.rt());
    });
    node.wait();
    node.stop();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "agner-node: %s\n", agner::visible_lines(e.what()).c_str());
    return 1;
  }
  return 0;
}
