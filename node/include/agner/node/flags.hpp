#pragma once
// The standard node flags, shared by agner-node and any service that embeds a node: one options
// struct and one function that adds the flags to a CLI11 app. Every value is checked as it is
// parsed; a bad one fails the parse with a sentence naming the flag and the value.
#include <CLI/CLI.hpp>

#include "agner/exporter/exporter.hpp"
#include "agner/introspect/server.hpp"
#include "agner/runtime/runtime.hpp"

namespace agner::node {

/// What the standard flags set. Defaults are the documented ones (README.md, "agner-node").
struct node_options {
  runtime_options runtime;
  introspect::server_options server;  ///< cookie_file defaults to ~/.config/agner/cookie (add_node_flags fills it)
  exporter::options metrics;          ///< listen "off": no /metrics
  bool metrics_chosen = false;        ///< --metrics-listen given: failing to listen is then an error
  std::string rules;                  ///< --rules FILE; empty: none
  /// --spawn-valve NAME: every spawn asks this valve (class spawn_options::priority, else "normal")
  /// and is refused with spawn_error(overloaded) under pressure; empty ("off"): spawns are not gated.
  std::string spawn_valve;
  std::string program = "agner-node";  ///< the name that starts every line the node host prints
};

/// Adds --name, --schedulers, --process-limit, --socket, --listen-tcp, --tcp-allow-remote,
/// --cookie-file, --viewer-cookie-file, --metrics-listen, --metrics-allow-remote,
/// --metrics-process, --rules and --spawn-valve to `app`, writing into `o` (which must outlive the parse). Values
/// are checked when app.parse() runs: numbers in range, ADDR:PORT with an IP address and a port
/// from 0 (pick a free one) to 65535, non-loopback addresses only with the matching
/// --*-allow-remote; a bad one throws CLI::ValidationError whose what() is one sentence naming the
/// flag. Not thread-safe (call it while setting up). Cost: none at run time.
void add_node_flags(CLI::App& app, node_options& o);

/// The sentence for a parse error: "unknown flag --bogus" for an unexpected argument that looks
/// like a flag, else CLI11's own message (e.g. "--name: 1 required TEXT missing"); control bytes
/// the operator typed are shown as \xNN (one line, nothing written to the terminal).
std::string describe(const CLI::ParseError& e, const CLI::App& app);

/// Parses argv into `app` (whose flags the caller added: the standard ones and its own). Prints the
/// help and exits 0 on --help; prints "PROGRAM: SENTENCE" and a usage line to stderr and exits 2 on
/// a bad flag or value. Not thread-safe (call it while setting up).
void parse_or_exit(CLI::App& app, int argc, char** argv, const std::string& program);

/// For a program that needs no flags of its own: parses argv with the standard node flags into a
/// node_options whose `program` is `program`. Prints the help and exits 0 on --help; prints
/// "PROGRAM: SENTENCE" and a usage line to stderr and exits 2 on a bad flag. Call it from main
/// before starting threads. Cost: none at run time.
node_options parse_node_flags(int argc, char** argv, const std::string& program, const std::string& description);

}  // namespace agner::node
