// agner-node as an operator runs it: a real process, attached to over its socket, stopped by SIGTERM.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "agner/introspect/client.hpp"
#include "support.hpp"

extern char** environ;

using namespace agner;
using agner::test::eventually;

namespace {

struct node_process {
  std::string dir;
  std::string socket;
  pid_t pid = -1;
  explicit node_process(std::vector<std::string> extra = {}) {
    char tmpl[] = "/tmp/agner-node-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    dir = tmpl;
    socket = dir + "/n.sock";
    std::vector<std::string> args{AGNER_NODE_BIN, "--name", "nodetest", "--socket", socket, "--schedulers", "2"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    REQUIRE(::posix_spawn(&pid, AGNER_NODE_BIN, nullptr, nullptr, argv.data(), environ) == 0);
  }
  ~node_process() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    std::filesystem::remove_all(dir);
  }
  introspect::client attach() {
    std::optional<introspect::client> c;
    REQUIRE(eventually([&] {
      try {
        c.emplace(introspect::client::attach_unix(socket));
        return true;
      } catch (const introspect::client_error&) {
        return false;
      }
    }));
    return std::move(*c);
  }
  int stop(int sig) {
    ::kill(pid, sig);
    int status = 0;
    ::waitpid(pid, &status, 0);
    pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
};

}  // namespace

TEST_CASE("agner-node runs the synthetic workload, serves it, and stops cleanly on SIGTERM") {
  node_process node;
  auto c = node.attach();
  CHECK(c.node() == "nodetest");
  // The supervision tree is there, with its children, and the slow consumer gets its bursts.
  auto sup = c.process_info("workload_sup");
  CHECK(sup.responsive);
  CHECK(sup.report.state.find("slow_consumer=<0.") != std::string::npos);
  CHECK(sup.report.links.size() == 5);
  CHECK(eventually([&] { return c.process_info("slow_consumer").row.messages_received > 0; }));
  CHECK(c.system_info().process_count >= 14);  // 2 supervisors, 8 workers, 4 others
  CHECK(node.stop(SIGTERM) == 0);
  CHECK_FALSE(std::filesystem::exists(node.socket));  // removed on the way out
}

TEST_CASE("agner-node stops cleanly on SIGINT, and refuses a second node on the same socket") {
  node_process first;
  first.attach();
  std::vector<std::string> args{AGNER_NODE_BIN, "--socket", first.socket, "--workload", "none"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t dup = -1;
  REQUIRE(::posix_spawn(&dup, AGNER_NODE_BIN, nullptr, nullptr, argv.data(), environ) == 0);
  int status = 0;
  ::waitpid(dup, &status, 0);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 1);  // "another node is serving ..."
  CHECK(first.stop(SIGINT) == 0);
}

TEST_CASE("agner-node rejects a bad flag with its usage, and exits 2") {
  std::vector<std::string> args{AGNER_NODE_BIN, "--schedulers", "zero"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t p = -1;
  posix_spawn_file_actions_t quiet;
  posix_spawn_file_actions_init(&quiet);
  posix_spawn_file_actions_addopen(&quiet, 2, "/dev/null", O_WRONLY, 0);
  REQUIRE(::posix_spawn(&p, AGNER_NODE_BIN, &quiet, nullptr, argv.data(), environ) == 0);
  posix_spawn_file_actions_destroy(&quiet);
  int status = 0;
  ::waitpid(p, &status, 0);
  CHECK(WEXITSTATUS(status) == 2);
}
