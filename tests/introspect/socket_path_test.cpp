// The socket path and the cookie file: the node changes nothing it does not own, refuses with the
// fix in the sentence, and a failed start leaves nothing behind.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include "attach_support.hpp"

using namespace agner;
using namespace agner::introspect;
using namespace agner::test;

namespace {

mode_t mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

/// The sentence a server start throws, or "" if it started.
std::string start_error(runtime& rt, const server_options& o) {
  try {
    server s(rt, o);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

server_options unix_only(const std::string& path) {
  server_options o;
  o.node_name = "pathtest";
  o.unix_path = path;
  return o;
}

}  // namespace

TEST_CASE("a socket directory the node does not own privately is refused and left as it was") {
  const std::string dir = temp_dir();
  runtime rt(two_schedulers());

  const std::string shared = dir + "/shared";
  REQUIRE(::mkdir(shared.c_str(), 0700) == 0);
  ::chmod(shared.c_str(), 01777);
  CHECK(start_error(rt, unix_only(shared + "/x.sock")) ==
        fmt::format("socket directory {} is shared (mode 1777); make a private one with: mkdir -m 700 DIR, then "
                    "--socket DIR/NAME.sock",
                    shared));
  CHECK(mode_of(shared) == 01777);

  const std::string open = dir + "/open";
  REQUIRE(::mkdir(open.c_str(), 0700) == 0);
  ::chmod(open.c_str(), 0755);
  CHECK(start_error(rt, unix_only(open + "/x.sock")) ==
        fmt::format("socket directory {} is open to others (mode 0755); fix with: chmod 700 {}", open, open));
  CHECK(mode_of(open) == 0755);

  const std::string theirs = dir + "/theirs";
  REQUIRE(::mkdir(theirs.c_str(), 0700) == 0);
  const bool can_chown = ::chown(theirs.c_str(), 65534, 65534) == 0;  // as root: another user's directory
  if (can_chown) {
    CHECK(start_error(rt, unix_only(theirs + "/x.sock")).find(
              fmt::format("socket directory {} belongs to uid 65534", theirs)) == 0);
    CHECK(mode_of(theirs) == 0700);
  }

  const std::string mine = dir + "/mine", link = dir + "/link";
  REQUIRE(::mkdir(mine.c_str(), 0700) == 0);
  REQUIRE(::symlink(mine.c_str(), link.c_str()) == 0);
  CHECK(start_error(rt, unix_only(link + "/x.sock")) ==
        fmt::format("socket directory {} is a symbolic link; give the directory itself in --socket", link));

  CHECK(start_error(rt, unix_only(dir + "/no/such/dir/x.sock")) ==
        fmt::format("socket directory {}/no/such/dir does not exist; create it with: mkdir -m 700 {}/no/such/dir",
                    dir, dir));
  CHECK_FALSE(std::filesystem::exists(dir + "/no"));

  // A regular file at the socket path is refused, not replaced.
  write_file(mine + "/x.sock", "precious", 0600);
  CHECK(start_error(rt, unix_only(mine + "/x.sock")) ==
        fmt::format("{}/x.sock exists and is not a socket; remove it or pick another --socket", mine));
  CHECK(std::filesystem::is_regular_file(mine + "/x.sock"));

  // Our own private directory works, and a stale socket in it is replaced.
  {
    server s(rt, unix_only(mine + "/y.sock"));
    CHECK(mode_of(mine + "/y.sock") == 0600);
  }
  CHECK_FALSE(std::filesystem::exists(mine + "/y.sock"));
  {
    asio::io_context io;
    asio::local::stream_protocol::acceptor stale(io, asio::local::stream_protocol::endpoint(mine + "/y.sock"));
  }  // closed, the file stays: what a killed node leaves
  REQUIRE(std::filesystem::exists(mine + "/y.sock"));
  CHECK(start_error(rt, unix_only(mine + "/y.sock")) == "");

  // A stale socket of another user is not ours to remove (only root can test it: chown).
  {
    asio::io_context io;
    asio::local::stream_protocol::acceptor stale(io, asio::local::stream_protocol::endpoint(mine + "/z.sock"));
  }
  if (::chown((mine + "/z.sock").c_str(), 65534, 65534) == 0) {
    CHECK(start_error(rt, unix_only(mine + "/z.sock")) ==
          fmt::format("{}/z.sock belongs to uid 65534, not to this user (uid {}); remove it if it is stale, or pick "
                      "another --socket",
                      mine, ::geteuid()));
    CHECK(std::filesystem::exists(mine + "/z.sock"));
  }

  // A path past sockaddr_un's 107 bytes is named with its length and the limit.
  const std::string long_path = mine + "/" + std::string(120, 'a') + ".sock";
  CHECK(start_error(rt, unix_only(long_path)) ==
        fmt::format("socket path {} is {} bytes; a Unix socket path holds at most 107: pick a shorter --socket", long_path,
                    long_path.size()));
  std::filesystem::remove_all(dir);
}

TEST_CASE("a failed start leaves no socket file behind") {
  const std::string dir = temp_dir();
  runtime rt(two_schedulers());
  write_file(dir + "/cookie", std::string(64, 'k'), 0600);
  asio::io_context io;
  asio::ip::tcp::acceptor taken(io, {asio::ip::make_address("127.0.0.1"), 0});  // a port in use
  server_options o = unix_only(dir + "/n.sock");
  o.cookie_file = dir + "/cookie";
  for (const std::string& listen :
       {fmt::format("127.0.0.1:{}", taken.local_endpoint().port()), std::string("127.0.0.1:abc"),
        std::string("127.0.0.1:70000"), std::string("localhost:1")}) {
    CAPTURE(listen);
    o.tcp_listen = listen;
    CHECK(start_error(rt, o).find("--listen-tcp " + listen + ": ") == 0);
    CHECK_FALSE(std::filesystem::exists(dir + "/n.sock"));
  }
  o.tcp_listen = "127.0.0.1:abc";
  CHECK(start_error(rt, o) == "--listen-tcp 127.0.0.1:abc: the port must be a number from 0 to 65535");
  std::filesystem::remove_all(dir);
}

TEST_CASE("a cookie file that is a fifo, a link, too large or in a directory others may write is refused at once") {
  const std::string dir = temp_dir();
  runtime rt(two_schedulers());
  server_options o = unix_only("off");
  o.tcp_listen = "127.0.0.1:0";

  o.cookie_file = dir + "/fifo";
  REQUIRE(::mkfifo(o.cookie_file.c_str(), 0600) == 0);
  CHECK(start_error(rt, o) == fmt::format("cookie file {}: not a regular file", o.cookie_file));  // and no hang

  write_file(dir + "/real", std::string(64, 'k'), 0600);
  o.cookie_file = dir + "/link";
  REQUIRE(::symlink((dir + "/real").c_str(), o.cookie_file.c_str()) == 0);
  CHECK(start_error(rt, o) == fmt::format("cookie file {}: a symbolic link; give the file itself", o.cookie_file));

  o.cookie_file = dir + "/big";
  write_file(o.cookie_file, std::string(5000, 'k'), 0600);
  CHECK(start_error(rt, o) ==
        fmt::format("cookie file {}: 5000 bytes, more than a key (1024 at most); delete the file to have a new one made",
                    o.cookie_file));

  o.cookie_file = dir + "/good";
  write_file(o.cookie_file, std::string(64, 'k') + "\n", 0600);
  CHECK(start_error(rt, o) == "");

  // A directory others may write in lets them swap the key: refused, with the fix; the sticky bit
  // (as on /tmp) keeps others from replacing a file they do not own, so it is enough.
  REQUIRE(::chmod(dir.c_str(), 0777) == 0);
  CHECK(start_error(rt, o) == fmt::format("cookie file {}: its directory {} is writable by group or others (mode 0777), "
                                          "who could replace the key; fix with: chmod go-w {}",
                                          o.cookie_file, dir, dir));
  REQUIRE(::chmod(dir.c_str(), 01777) == 0);
  CHECK(start_error(rt, o) == "");
  REQUIRE(::chmod(dir.c_str(), 0700) == 0);

  if (::geteuid() == 0) {  // root can give the file away: another user's key is refused, with the fix
    REQUIRE(::chown(o.cookie_file.c_str(), 65534, static_cast<gid_t>(-1)) == 0);
    CHECK(start_error(rt, o) == fmt::format("cookie file {}: owned by uid 65534, not by this user (uid 0); use a cookie "
                                            "file of your own, or chown 0 {}",
                                            o.cookie_file, o.cookie_file));
  }
  std::filesystem::remove_all(dir);
}
