// matchstream-load: many MatchStream clients against one server (docs/matchstream.md, "Tools").
// With more clients than one process may hold sockets, it forks and execs itself as worker
// processes, reads their JSON lines and merges them.
#include <poll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "load.hpp"
#include "flags.hpp"
#include "server_address.hpp"

using namespace matchstream::tools;
using steady = std::chrono::steady_clock;

namespace {

constexpr std::size_t fd_margin = 1000;  // descriptors a process keeps for itself beyond its sockets

std::size_t sockets_per_process() {
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  return rl.rlim_cur > fd_margin + 100 ? rl.rlim_cur - fd_margin : 100;
}

double since(steady::time_point t) { return std::chrono::duration<double>(steady::now() - t).count(); }

[[noreturn]] void die(const std::string& sentence) {
  std::cerr << "matchstream-load: " << sentence << "\n";
  std::exit(2);
}

struct worker_proc {
  pid_t pid = -1;
  int fd = -1;
  std::string pending;
  load_report latest;
  bool have_summary = false;
  load_report summary;
};

// Runs the workers as child processes and merges what they print. Returns the summaries.
std::vector<load_report> run_workers(const load_options& o, std::size_t workers, steady::time_point t0) {
  std::vector<worker_proc> procs(workers);
  std::size_t first = 0;
  for (std::size_t w = 0; w < workers; ++w) {
    std::size_t count = o.clients / workers + (w < o.clients % workers ? 1 : 0);
    std::size_t conc = std::max<std::size_t>(1, o.concurrency / workers + (w < o.concurrency % workers ? 1 : 0));
    std::string matches;
    for (const auto& m : o.matches) matches += (matches.empty() ? "" : ",") + m;
    std::vector<std::string> args = {"matchstream-load",  "--server",  fmt::format("{}:{}", o.host, o.port),
                                     "--clients",         std::to_string(count),
                                     "--concurrency",     std::to_string(conc),
                                     "--matches",         matches,
                                     "--ramp",            fmt::format("{}", o.ramp_s),
                                     "--duration",        fmt::format("{}", o.duration_s),
                                     "--attempt-timeout", fmt::format("{}", o.attempt_timeout_s),
                                     "--user-prefix",     o.user_prefix,
                                     "--exit-when-connected=" + std::string(o.exit_when_connected ? "true" : "false"),
                                     "--reconnect",       fmt::format("{}", o.reconnect_s),
                                     "--worker-index",    std::to_string(w),
                                     "--first-client",    std::to_string(first)};
    first += count;
    int fds[2];
    if (pipe(fds) != 0) die(fmt::format("cannot make a pipe for worker {}: {}", w, std::strerror(errno)));
    pid_t pid = fork();
    if (pid < 0) die(fmt::format("cannot fork worker {}: {}", w, std::strerror(errno)));
    if (pid == 0) {
      dup2(fds[1], 1);
      close(fds[0]);
      close(fds[1]);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv("/proc/self/exe", argv.data());
      std::fprintf(stderr, "matchstream-load: cannot exec a worker: %s\n", std::strerror(errno));
      _exit(127);
    }
    close(fds[1]);
    procs[w].pid = pid;
    procs[w].fd = fds[0];
  }
  auto next_print = steady::now() + std::chrono::seconds(1);
  std::size_t open = workers;
  while (open) {
    std::vector<pollfd> pfds;
    for (auto& p : procs)
      if (p.fd >= 0) pfds.push_back({p.fd, POLLIN, 0});
    int wait_ms = static_cast<int>(std::max<long>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(next_print - steady::now()).count()));
    poll(pfds.data(), pfds.size(), wait_ms);
    for (auto& p : procs) {
      if (p.fd < 0) continue;
      pollfd* pf = nullptr;
      for (auto& x : pfds)
        if (x.fd == p.fd) pf = &x;
      if (!pf || !(pf->revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[65536];
      ssize_t n = read(p.fd, buf, sizeof buf);
      if (n <= 0) {
        close(p.fd);
        p.fd = -1;
        --open;
        continue;
      }
      p.pending.append(buf, static_cast<std::size_t>(n));
      std::size_t nl;
      while ((nl = p.pending.find('\n')) != std::string::npos) {
        std::string line = p.pending.substr(0, nl);
        p.pending.erase(0, nl + 1);
        try {
          auto j = nlohmann::json::parse(line);
          if (j.contains("progress")) p.latest = load_report::from_json(j["progress"]);
          if (j.contains("summary")) {
            p.summary = load_report::from_json(j["summary"]);
            p.have_summary = true;
          }
        } catch (const std::exception& e) {
          std::cerr << "matchstream-load: worker sent a line that is not a report: " << e.what() << "\n";
        }
      }
    }
    if (steady::now() >= next_print) {
      load_report sum;
      for (auto& p : procs) sum.merge(p.latest);
      std::cerr << progress_line(sum, since(t0)) << "\n";
      next_print += std::chrono::seconds(1);
    }
  }
  std::vector<load_report> out;
  bool ok = true;
  for (std::size_t w = 0; w < workers; ++w) {
    int status = 0;
    waitpid(procs[w].pid, &status, 0);
    if (!procs[w].have_summary) {
      std::cerr << fmt::format("matchstream-load: worker {} (pid {}) ended without a summary (status {})\n", w,
                               procs[w].pid, status);
      ok = false;
    } else {
      out.push_back(procs[w].summary);
    }
  }
  if (!ok) std::exit(1);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  load_options o;
  std::string server = "127.0.0.1:7000";
  CLI::App app{"matchstream-load: many MatchStream clients against one server; each checks seq has no gap and "
               "measures delivery latency (receive time - at_us). Progress on stderr each second, a JSON "
               "summary on stdout at the end."};
  app.add_option("--server", server, "HOST:PORT of the server (default 127.0.0.1:7000)");
  app.add_option("--clients", o.clients, "clients to run")->check(CLI::Range(1, 10'000'000));
  app.add_option("--concurrency", o.concurrency, "connection attempts in flight at most (connect to status block)")
      ->check(CLI::Range(1, 10'000'000));
  app.add_option("--matches", o.matches, "match ids, comma-separated; client i takes match i mod count")
      ->delimiter(',')
      ->required();
  app.add_option("--ramp", o.ramp_s, "seconds over which to start the clients (0: at once)")->check(CLI::Range(0.0, 86400.0));
  app.add_option("--duration", o.duration_s, "seconds to run, then close every client (0: until each has ended or failed)")
      ->check(CLI::Range(0.0, 864000.0));
  app.add_option("--workers", o.workers, "worker processes (0: as many as the socket limit needs)")
      ->check(CLI::Range(0, 256));
  app.add_option("--attempt-timeout", o.attempt_timeout_s, "seconds an attempt may take before it fails (default 30)")
      ->check(CLI::Range(0.1, 3600.0));
  app.add_flag("--exit-when-connected", o.exit_when_connected,
               "stop once every client has its status block or has failed (to measure connecting)");
  app.add_option("--reconnect", o.reconnect_s,
                 "a client that fails or is closed before the end block connects again after SECONDS (default 0: it "
                 "stays down)")
      ->check(CLI::Range(0.0, 3600.0));
  app.add_option("--user-prefix", o.user_prefix, "user names are PREFIX<i> (default u)");
  app.add_option("--worker-index", o.worker_index)->group("");
  app.add_option("--first-client", o.first_client)->group("");
  matchstream::tools::parse_or_exit(app, argc, argv, "matchstream-load");
  auto addr = parse_server(server);
  if (!addr) die(fmt::format("--server {} is not HOST:PORT with an IP address and a port 1..65535", server));
  o.host = addr->first;
  o.port = addr->second;
  for (const auto& m : o.matches)
    if (m.empty() || m.find_first_of(":\r\n") != std::string::npos)
      die(fmt::format("--matches: '{}' is not a match id (empty, or holds ':' or a line break)", m));

  if (o.worker_index >= 0) {  // a worker: JSON lines on stdout for the parent
    auto r = run_clients(o, o.first_client, o.clients, o.worker_index, [](const load_report& p) {
      std::cout << nlohmann::json{{"progress", p.to_json()}}.dump() << "\n" << std::flush;
    });
    std::cout << nlohmann::json{{"summary", r.to_json()}}.dump() << "\n" << std::flush;
    return 0;
  }

  std::size_t limit = sockets_per_process();
  std::size_t workers = o.workers ? o.workers : (o.clients + limit - 1) / limit;
  if (o.clients / workers + 1 > limit && o.clients > limit)
    die(fmt::format("--clients {} over --workers {} is more than {} sockets a process (RLIMIT_NOFILE leaves no more)",
                    o.clients, workers, limit));
  auto t0 = steady::now();
  std::vector<load_report> reports;
  if (workers == 1 && o.workers == 0) {
    std::cerr << fmt::format("matchstream-load: {} clients in this process against {}\n", o.clients, server);
    reports.push_back(run_clients(o, 0, o.clients, 0, [&](const load_report& p) {
      std::cerr << progress_line(p, since(t0)) << "\n";
    }));
  } else {
    std::cerr << fmt::format(
        "matchstream-load: {} clients over {} worker processes against {} (at most {} sockets a process: "
        "RLIMIT_NOFILE is {})\n",
        o.clients, workers, server, limit, limit + fd_margin);
    reports = run_workers(o, workers, t0);
  }
  double elapsed = since(t0);
  load_report total;
  for (const auto& r : reports) total.merge(r);
  std::cout << summary_json(total, reports, o, elapsed).dump(2) << "\n";
  return total.gaps == 0 && total.malformed == 0 ? 0 : 1;
}
