// libFuzzer target: newline-separated frames fed to the attach server's sessions (introspect/src/
// session*.cpp) over a real connection, against a small runtime with a few processes. The first
// byte picks the transport: even, the Unix socket (trusted after hello, either role); odd, TCP
// (hello, then auth with a proof the fuzzer cannot forge: the pre-authentication stages). The
// fuzzer half-closes after the frames and reads until the node closes, so each input's session is
// over before the next begins. A crash, a sanitizer report or a hang in the node is a bug.
#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it

#include <boost/asio.hpp>

#include "agner/introspect/server.hpp"
#include "agner/runtime/runtime.hpp"

namespace {

namespace asio = boost::asio;
using namespace agner;

struct node {
  std::string dir = [] {
    char tmpl[] = "/tmp/agner-fuzz-XXXXXX";
    if (!::mkdtemp(tmpl)) std::abort();
    return std::string(tmpl);
  }();
  runtime rt{[] {
    runtime_options o;
    o.schedulers = 1;
    o.blocking_threads = 1;
    o.log = [](std::string_view) {};  // audit lines: one per admin action, too many to print
    return o;
  }()};
  std::unique_ptr<introspect::server> srv;

  node() {
    std::ofstream(dir + "/admin.cookie") << std::string(64, 'a');
    ::chmod((dir + "/admin.cookie").c_str(), 0600);
    introspect::server_options o;
    o.node_name = "fuzznode";
    o.unix_path = dir + "/fuzznode.sock";
    o.tcp_listen = "127.0.0.1:0";
    o.cookie_file = dir + "/admin.cookie";
    o.limits.auth_failure_delay = std::chrono::milliseconds(0);
    o.limits.max_deadline = std::chrono::milliseconds(20);
    o.limits.handshake_timeout = std::chrono::milliseconds(2000);
    srv = std::make_unique<introspect::server>(rt, o);
    std::atexit([] { std::filesystem::remove_all(the().dir); });
  }
  /// The processes a session may look at, suspend or kill: spawned again when gone.
  void populate() {
    for (const char* name : {"worker", "sleeper", "counter"})
      if (!rt.whereis(name)) rt.spawn_fn([](context&, message&) {}, spawn_options{.name = name});
  }
  static node& the() {
    static node* n = new node;  // never destroyed: libFuzzer exits without unwinding
    return *n;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  node& n = node::the();
  n.populate();
  asio::io_context io;
  asio::generic::stream_protocol::socket sock(io);
  // A connect that fails says nothing about the input: libFuzzer's own SIGINT (scripts/fuzz --cpu
  // stops a target with it) once interrupted one, and the throw was reported as a crash.
  boost::system::error_code ec;
  if (data[0] % 2 == 0) {
    asio::local::stream_protocol::socket s(io);
    s.connect(asio::local::stream_protocol::endpoint(n.srv->unix_path()), ec);
    if (ec) return 0;
    sock = asio::generic::stream_protocol::socket(std::move(s));
  } else {
    asio::ip::tcp::socket s(io);
    s.connect({asio::ip::make_address("127.0.0.1"), n.srv->tcp_port()}, ec);
    if (ec) return 0;
    sock = asio::generic::stream_protocol::socket(std::move(s));
  }
  asio::write(sock, asio::buffer(data + 1, size - 1), ec);
  sock.shutdown(asio::socket_base::shutdown_send, ec);
  char buf[4096];
  while (!ec) sock.read_some(asio::buffer(buf), ec);
  return 0;
}
