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

#include "agner/attach/client.hpp"

using namespace agner::introspect;

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
