// The attach client gives up on a node that never answers instead of blocking its caller (etop's
// screen, every node of a several-node etop) for ever.
#include <doctest/doctest.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <tuple>

#include "agner/attach/client.hpp"

using namespace agner::introspect;

namespace {

/// A listening Unix socket nobody accepts on, in a temp dir of its own; gone with the object.
struct mute_socket {
  explicit mute_socket(int backlog) {
    REQUIRE(::mkdtemp(dir) != nullptr);
    path = std::string(dir) + "/mute.sock";
    fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd, backlog) == 0);
  }
  ~mute_socket() {
    ::close(fd);
    ::unlink(path.c_str());
    ::rmdir(dir);
  }
  char dir[32] = "/tmp/agner-deadline-XXXXXX";
  std::string path;
  int fd = -1;
};

/// attach_unix's error code and sentence, and how long it took.
std::tuple<std::string, std::string, std::chrono::steady_clock::duration> attach_failure(
    const std::string& path, std::chrono::milliseconds within) {
  const auto start = std::chrono::steady_clock::now();
  std::string code, what;
  try {
    client::attach_unix(path, "admin", within);
  } catch (const client_error& e) {
    code = e.code();
    what = e.what();
  }
  return {code, what, std::chrono::steady_clock::now() - start};
}

}  // namespace

TEST_CASE("a shorter reply deadline given to attach makes a mute socket fail within it") {
  mute_socket mute(4);
  const auto [code, what, took] = attach_failure(mute.path, std::chrono::milliseconds(300));
  CHECK(code == "connection");
  CHECK(what == "the node did not answer within 0.3 s");
  CHECK(took >= std::chrono::milliseconds(300));
  CHECK(took < reply_deadline);  // a generous bound: the default deadline was not the one waited
}

TEST_CASE("a socket whose listen queue is full makes attach fail within its deadline instead of blocking in connect") {
  mute_socket mute(0);
  // Fill the queue: with a backlog of 0 the first connection queues, the next ones cannot.
  const int filler = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
  REQUIRE(filler >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, mute.path.c_str(), sizeof addr.sun_path - 1);
  REQUIRE(::connect(filler, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  const auto [code, what, took] = attach_failure(mute.path, std::chrono::milliseconds(300));
  CHECK(code == "connection");
  CHECK(what == "cannot attach to " + mute.path + ": the node did not accept within 0.3 s");
  CHECK(took < reply_deadline);
  ::close(filler);
}

TEST_CASE("a socket that accepts no connection makes attach fail after the reply deadline") {
  char dir[] = "/tmp/agner-deadline-XXXXXX";
  REQUIRE(::mkdtemp(dir) != nullptr);
  const std::string path = std::string(dir) + "/mute.sock";
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(fd, 4) == 0);  // connects succeed (the backlog), nothing is ever read or written
  const auto start = std::chrono::steady_clock::now();
  std::string code, what;
  try {
    client::attach_unix(path);
  } catch (const client_error& e) {
    code = e.code();
    what = e.what();
  }
  CHECK(code == "connection");
  CHECK(what == "the node did not answer within 20 s");
  CHECK(std::chrono::steady_clock::now() - start >= reply_deadline);
  ::close(fd);
  ::unlink(path.c_str());
  ::rmdir(dir);
}
