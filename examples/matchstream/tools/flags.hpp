#pragma once
/// The tools' flag parsing, as node/flags.hpp's parse_or_exit does it for the node programs (the
/// tools do not link the node library): --help prints the help and exits 0; a bad flag or value
/// prints "PROGRAM: SENTENCE" (naming the flag) and a usage line to stderr and exits 2. An unknown
/// flag is named before a missing required one. Not thread-safe: call it from main before threads.
#include <cstdio>
#include <cstdlib>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

namespace matchstream::tools {

inline void parse_or_exit(CLI::App& app, int argc, char** argv, const std::string& program) {
  try {
    app.parse(argc, argv);
    if (!app.remaining().empty()) throw CLI::ExtrasError(app.remaining());
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    std::exit(0);
  } catch (const CLI::ParseError& e) {
    std::string why = e.what();
    bool unknown = false;
    for (const auto& arg : app.remaining())
      if (!unknown && arg.starts_with("-")) {
        why = fmt::format("unknown flag {}", arg.substr(0, arg.find('=')));
        unknown = true;
      }
    if (!unknown && dynamic_cast<const CLI::ExtrasError*>(&e) && !app.remaining().empty())
      why = fmt::format("unexpected argument '{}'", app.remaining().front());
    std::fprintf(stderr, "%s: %s\nusage: %s [OPTIONS]; %s --help lists them\n", program.c_str(), why.c_str(),
                 program.c_str(), program.c_str());
    std::exit(2);
  }
}

}  // namespace matchstream::tools
