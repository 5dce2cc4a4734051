#pragma once
// agner-ctl's subcommands as protocol requests (docs/protocol.md) and what each prints from the reply.
#include <cstdint>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

namespace agner::ctl {

/// What a subcommand ends with: its exit code and what goes to stdout and stderr.
struct result {
  int code = 0;
  std::string out, err;
};

/// One protocol request, and how its (successful) reply is shown to a human.
struct command {
  nlohmann::json request;
  std::function<result(const nlohmann::json& reply)> render;
};

command system_info();
/// `who`: a pid ("<0.5.1>") or a registered name; `messages`: queued messages to list (0-100);
/// `deadline_ms`: how long the process may take to answer (1-5000).
command process_info(const std::string& who, int messages, int deadline_ms);
command top(const std::string& sort, int n, const std::string& filter);
command alarms();
command history(int n);
command valves();
command ack_alarm(const std::string& id);
command set_alarm(const std::string& id, const std::string& severity, const std::string& description);
command clear_alarm(const std::string& id);
/// mode: open or closed, for `for_ms` milliseconds; or automatic (the override is lifted).
command override_valve(const std::string& valve, const std::string& mode, std::int64_t for_ms);
command reload_rules();
/// op: kill (with `reason`, empty for the node's default), garbage_collect, suspend or resume.
command process_op(const std::string& op, const std::string& who, const std::string& reason);

}  // namespace agner::ctl
