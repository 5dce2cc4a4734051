// matchstream-floor: the kernel floor for MatchStream's fan-out (docs/matchstream.md, "Figures").
// A bare epoll loop on one thread, no Agner, no processes, no store: it speaks just enough of the
// protocol (MATCHSTREAM.md) for bench.sh to drive it exactly as it drives the servers. A watcher's
// first line VERSION:1:WATCH:<id> opens a match; each later line is one event, answered OK <seq>, made
// into one block (the server's head, then the event's JSON as one field: about the server's sizes) and
// written to every subscriber with one send() per client per block, as the server does. A client's
// first line VERSION:1:CONNECT:<user>:MATCH:<id> gets a status block and the match's later blocks.
// Whatever CPU it spends per delivered block is the floor for "one syscall per delivered block" on
// this machine. On SIGTERM it prints `floor matchstream_cpu ...`: user and system seconds per million
// blocks delivered (getrusage) over its whole run, and how many writes were short (a full socket
// buffer, which loses that client; a send to a client that has gone is not counted).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <unordered_map>
#include <vector>

#include <CLI/CLI.hpp>

namespace {

struct connection {
  std::string in;        // bytes read, not yet a whole line
  bool first = true;     // the first line is still to come
  int watching = -1;     // a watcher: the match it feeds
  int match = -1;        // a client: the match it is subscribed to
};

struct match_state {
  std::string id;
  long long seq = 0;
  std::vector<int> subscribers;
};

volatile std::sig_atomic_t stopping = 0;

long long now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The server's block head (examples/matchstream/src/match.cpp head()), then the fields.
std::string block(std::string_view kind, long long seq, long long at_us, const std::string& fields) {
  std::time_t secs = static_cast<std::time_t>(at_us / 1'000'000);
  std::tm t{};
  gmtime_r(&secs, &t);
  char head[256];
  int n = std::snprintf(head, sizeof head, "%04d-%02d-%02d %02d:%02d:%02d: %.*s:\n    seq: %lld\n    at_us: %lld\n", t.tm_year + 1900,
                        t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, static_cast<int>(kind.size()), kind.data(), seq, at_us);
  return std::string(head, static_cast<std::size_t>(std::min(n, static_cast<int>(sizeof head) - 1))) + fields + "\n";
}

std::string_view kind_of(std::string_view json) {
  auto at = json.find("\"kind\":\"");
  if (at == std::string_view::npos) return "event";
  auto rest = json.substr(at + 8);
  return rest.substr(0, std::min<std::size_t>(rest.find('"'), 32));
}

// A status block the size of a started match's: two rosters of eleven.
std::string status_block(long long seq, long long at_us) {
  std::string f = "    home: home\n    home_players:\n";
  for (int i = 1; i <= 11; ++i) f += "         Player " + std::to_string(i) + " (" + std::to_string(i) + ")\n";
  f += "    home_score: 0\n    visit: visit\n    visit_players:\n";
  for (int i = 1; i <= 11; ++i) f += "         Player " + std::to_string(i) + " (" + std::to_string(i) + ")\n";
  f += "    visit_score: 0\n    period: first\n";
  return block("status", seq, at_us, f);
}

double seconds(const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6; }

}  // namespace

int main(int argc, char** argv) {
  std::string listen_at = "127.0.0.1:0";
  CLI::App app{"matchstream-floor: one send() per block per client from a bare epoll loop, for the CPU floor"};
  app.add_option("--listen", listen_at, "ADDR:PORT to take clients and watchers on (port 0: any; the port is printed)");
  CLI11_PARSE(app, argc, argv);

  auto colon = listen_at.rfind(':');
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  if (colon == std::string::npos || inet_pton(AF_INET, listen_at.substr(0, colon).c_str(), &addr.sin_addr) != 1) {
    std::fprintf(stderr, "matchstream-floor: --listen '%s' is not IPV4-ADDRESS:PORT\n", listen_at.c_str());
    return 2;
  }
  addr.sin_port = htons(static_cast<std::uint16_t>(std::atoi(listen_at.c_str() + colon + 1)));
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(lfd, 4096) != 0) {
    std::fprintf(stderr, "matchstream-floor: cannot listen on %s: %s\n", listen_at.c_str(), std::strerror(errno));
    return 1;
  }
  socklen_t len = sizeof addr;
  getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len);
  char ip[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &addr.sin_addr, ip, sizeof ip);
  std::printf("matchstream: listening on %s:%u\n", ip, ntohs(addr.sin_port));  // bench.sh waits for the server's words
  std::fflush(stdout);
  std::signal(SIGTERM, [](int) { stopping = 1; });
  std::signal(SIGINT, [](int) { stopping = 1; });
  std::signal(SIGPIPE, SIG_IGN);

  int ep = epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = lfd;
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);

  std::unordered_map<int, connection> conns;
  std::vector<match_state> matches;
  long long delivered = 0, short_writes = 0;

  auto drop = [&](int fd) {
    auto it = conns.find(fd);
    if (it == conns.end()) return;
    if (it->second.match >= 0) {
      auto& subs = matches[static_cast<std::size_t>(it->second.match)].subscribers;
      for (auto& s : subs)
        if (s == fd) {
          s = subs.back();
          subs.pop_back();
          break;
        }
    }
    conns.erase(it);
    close(fd);
  };
  auto say = [](int fd, const std::string& b) { return send(fd, b.data(), b.size(), MSG_NOSIGNAL | MSG_DONTWAIT) == static_cast<ssize_t>(b.size()); };
  // One send() a block a client; the floor keeps no send queue, so a short write loses the client.
  auto deliver = [&](int fd, const std::string& b) {
    ssize_t n = send(fd, b.data(), b.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n == static_cast<ssize_t>(b.size())) {
      ++delivered;
      return true;
    }
    if (n >= 0 || errno == EAGAIN) ++short_writes;  // else the client went away (its close is not read yet)
    return false;
  };
  auto match_named = [&](std::string_view id) {
    for (std::size_t i = 0; i < matches.size(); ++i)
      if (matches[i].id == id) return static_cast<int>(i);
    return -1;
  };

  // One whole line from fd; false when the connection is to be dropped.
  auto on_line = [&](int fd, connection& c, std::string_view line) -> bool {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (c.first) {
      c.first = false;
      if (line.starts_with("VERSION:1:WATCH:")) {
        auto id = line.substr(16);
        c.watching = match_named(id);
        if (c.watching < 0) {
          matches.push_back(match_state{std::string(id), 0, {}});
          c.watching = static_cast<int>(matches.size()) - 1;
        }
        return true;
      }
      auto at = line.find(":MATCH:");
      int m = line.starts_with("VERSION:1:CONNECT:") && at != std::string_view::npos ? match_named(line.substr(at + 7)) : -1;
      if (m < 0) {
        say(fd, "ERROR: unknown match\n");
        return false;
      }
      auto& match = matches[static_cast<std::size_t>(m)];
      if (!deliver(fd, status_block(match.seq, now_us()))) return false;
      c.match = m;
      match.subscribers.push_back(fd);
      return true;
    }
    if (c.watching < 0) return true;  // clients say nothing after their first line
    auto& match = matches[static_cast<std::size_t>(c.watching)];
    ++match.seq;
    auto kind = kind_of(line);
    std::string b = block(kind, match.seq, now_us(), "    event: " + std::string(line) + "\n");
    std::vector<int> lost;
    for (int s : match.subscribers)
      if (!deliver(s, b)) lost.push_back(s);
    for (int s : lost) drop(s);
    say(fd, "OK " + std::to_string(match.seq) + "\n");
    if (kind == "end") {
      auto subs = match.subscribers;
      for (int s : subs) drop(s);
    }
    return true;
  };

  std::vector<epoll_event> events(1024);
  char buf[16384];
  while (!stopping) {
    int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 200);
    for (int i = 0; i < n; ++i) {
      int fd = events[static_cast<std::size_t>(i)].data.fd;
      if (fd == lfd) {
        for (int c; (c = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK)) >= 0;) {
          setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          epoll_event cev{};
          cev.events = EPOLLIN;
          cev.data.fd = c;
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
          conns.emplace(c, connection{});
        }
        continue;
      }
      ssize_t got = read(fd, buf, sizeof buf);
      if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      auto it = conns.find(fd);
      if (got <= 0 || it == conns.end()) {
        drop(fd);
        continue;
      }
      auto& c = it->second;
      c.in.append(buf, static_cast<std::size_t>(got));
      bool keep = true;
      std::size_t from = 0;
      for (std::size_t nl; keep && (nl = c.in.find('\n', from)) != std::string::npos; from = nl + 1)
        keep = on_line(fd, c, std::string_view(c.in).substr(from, nl - from));
      if (!keep) {
        drop(fd);
        continue;
      }
      c.in.erase(0, from);
      if (c.in.size() > 65536) drop(fd);
    }
  }
  rusage r{};
  getrusage(RUSAGE_SELF, &r);
  double user = seconds(r.ru_utime), sys = seconds(r.ru_stime), m = static_cast<double>(std::max(delivered, 1LL)) / 1e6;
  std::printf("floor matchstream_cpu cpu_s_per_million_events=%.2f user_s_per_million=%.2f sys_s_per_million=%.2f "
              "cpu_s=%.2f events=%lld short_writes=%lld (whole run, getrusage)\n",
              (user + sys) / m, user / m, sys / m, user + sys, delivered, short_writes);
  return 0;
}
