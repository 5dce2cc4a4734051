#pragma once
// What the node tests share: agner-node run as a real process (spawned, attached to over its
// socket, signalled), and small file helpers.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "agner/attach/client.hpp"
#include "support.hpp"

extern char** environ;

namespace agner::test {

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
  agner::introspect::client attach() {
    std::optional<agner::introspect::client> c;
    REQUIRE(eventually([&] {
      try {
        c.emplace(agner::introspect::client::attach_unix(socket));
        return true;
      } catch (const agner::introspect::client_error&) {
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


inline std::string write_temp(const std::string& dir, const std::string& name, const std::string& text) {
  const std::string path = dir + "/" + name;
  std::ofstream(path) << text;
  return path;
}
/// Runs agner-node with `args` to its end; its stderr goes to `err_file`. Returns the exit status.
inline int run(std::vector<std::string> args, const std::string& err_file) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 2, err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  pid_t p = -1;
  REQUIRE(::posix_spawn(&p, AGNER_NODE_BIN, &fa, nullptr, argv.data(), environ) == 0);
  posix_spawn_file_actions_destroy(&fa);
  int status = 0;
  ::waitpid(p, &status, 0);
  return WEXITSTATUS(status);
}
/// A fresh directory under /tmp, removed with what it holds.
struct temp_dir {
  std::string path;
  temp_dir() {
    char tmpl[] = "/tmp/agner-node-test-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~temp_dir() { std::filesystem::remove_all(path); }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
};

inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
}  // namespace agner::test
