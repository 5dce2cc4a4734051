// notify.alertmanager.url: only http://HOST[:PORT][/PATH] with printable ASCII is taken, so a rules
// file cannot inject a header into the POST or a line break into the node's log.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include "agner/alarms/alertmanager_url.hpp"
#include "agner/alarms/rules.hpp"
#include "rule_errors.hpp"

using namespace agner::alarms;

namespace {

/// The errors of a rules file whose Alertmanager URL is `url_json` (a JSON string literal), one a line.
std::string errors_for(const std::string& url_json) {
  return agner::test::rule_errors(
      fmt::format("{{\"version\": 1,\n \"notify\": {{\"alertmanager\": {{\"url\": {}}}}}}}", url_json), "am.json");
}

}  // namespace

TEST_CASE("a URL with a CR LF, a space or a byte that is not ASCII is refused where it is") {
  CHECK(errors_for(R"("http://127.0.0.1:39877/api/v2/alerts HTTP/1.1\r\nX-Injected: yes")") ==
        "am.json:2:37: /notify/alertmanager/url: holds a space at byte 37 (write it %20)");
  CHECK(errors_for(R"("http://127.0.0.1:39877/api/v2/alerts\r\nX-Injected: yes")") ==
        "am.json:2:37: /notify/alertmanager/url: holds a control character (\\x0d) at byte 37");
  CHECK(errors_for(R"("http://127.0.0.1:9093/a b")") == "am.json:2:37: /notify/alertmanager/url: holds a space at byte 24 (write it %20)");
  CHECK(errors_for("\"http://h\xc3\xa9te:9093/\"") ==
        "am.json:2:37: /notify/alertmanager/url: holds a byte that is not ASCII (\\xc3) at byte 9 (percent-encode it)");
  CHECK(errors_for(R"("http://127.0.0.1:9093/\u007f")") == "am.json:2:37: /notify/alertmanager/url: holds a control character (\\x7f) at byte 23");
}

TEST_CASE("a URL with a port outside 1 to 65535 or a bad IPv6 bracket is refused where it is") {
  CHECK(errors_for(R"("http://127.0.0.1:99999/api/v2/alerts")") ==
        "am.json:2:37: /notify/alertmanager/url: has the port 99999; a port is a number from 1 to 65535");
  CHECK(errors_for(R"("http://127.0.0.1:0/")") == "am.json:2:37: /notify/alertmanager/url: has the port 0; a port is a number from 1 to 65535");
  CHECK(errors_for(R"("http://127.0.0.1:123456/")") ==
        "am.json:2:37: /notify/alertmanager/url: has the port '123456'; a port is a number from 1 to 65535");
  CHECK(errors_for(R"("http://127.0.0.1:/")") == "am.json:2:37: /notify/alertmanager/url: has ':' and no port after it");
  CHECK(errors_for(R"("http://[::1/api")") == "am.json:2:37: /notify/alertmanager/url: has an IPv6 address with '[' and no ']'");
  CHECK(errors_for(R"("http://::1]:9093/api")") == "am.json:2:37: /notify/alertmanager/url: has an IPv6 address with ']' and no '['");
  CHECK(errors_for(R"("http://::1/api")") ==
        "am.json:2:37: /notify/alertmanager/url: has more than one ':' in its host: an IPv6 address must be in brackets "
        "(http://[::1]:9093/api/v2/alerts)");
  CHECK(errors_for(R"("http://[::1]x/api")") ==
        "am.json:2:37: /notify/alertmanager/url: has something other than ':PORT' after the IPv6 address's ']'");
}

TEST_CASE("a URL with another scheme, credentials, no host or a fragment is refused where it is") {
  CHECK(errors_for(R"("https://am:9093/api/v2/alerts")") ==
        "am.json:2:37: /notify/alertmanager/url: has the scheme 'https'; only http:// is supported (keep Alertmanager on loopback "
        "or a private network)");
  CHECK(errors_for(R"("am:9093")") == "am.json:2:37: /notify/alertmanager/url: must be http://HOST[:PORT][/PATH] (Alertmanager's /api/v2/alerts)");
  CHECK(errors_for(R"("http://u:p@am:9093/")") == "am.json:2:37: /notify/alertmanager/url: holds credentials (USER@HOST); they are not supported");
  CHECK(errors_for(R"("http:///api")") == "am.json:2:37: /notify/alertmanager/url: has no host (http://HOST[:PORT][/PATH])");
  CHECK(errors_for(R"("http://am%0a:9093/")") ==
        "am.json:2:37: /notify/alertmanager/url: has a '%' in its host 'am%0a' (letters, digits, '-', '.' and '_' only)");
  CHECK(errors_for(R"("http://am:9093/a#b")") == "am.json:2:37: /notify/alertmanager/url: holds a '#' fragment, which is never sent to a server");
  CHECK(errors_for("\"http://am/" + std::string(3000, 'a') + "\"") ==
        "am.json:2:37: /notify/alertmanager/url: is 3010 bytes long; at most 2048 are taken");
}

TEST_CASE("a good URL is taken apart into host, port, Host header and target") {
  CHECK(errors_for(R"("http://127.0.0.1:9093/api/v2/alerts")") == "");
  auto v4 = std::get<alertmanager_url>(parse_alertmanager_url("http://127.0.0.1:9093/api/v2/alerts"));
  CHECK(v4.host == "127.0.0.1");
  CHECK(v4.port == "9093");
  CHECK(v4.host_header == "127.0.0.1:9093");
  CHECK(v4.target == "/api/v2/alerts");
  auto v6 = std::get<alertmanager_url>(parse_alertmanager_url("http://[::1]:9093"));
  CHECK(v6.host == "::1");
  CHECK(v6.host_header == "[::1]:9093");
  CHECK(v6.target == "/api/v2/alerts");
  auto name = std::get<alertmanager_url>(parse_alertmanager_url("http://am.example/x?y=1"));
  CHECK(name.port == "80");
  CHECK(name.host_header == "am.example");
  CHECK(name.target == "/x?y=1");
  // No path means Alertmanager's, a query or not.
  CHECK(std::get<alertmanager_url>(parse_alertmanager_url("http://127.0.0.1:9093?x=1")).target == "/api/v2/alerts?x=1");
}

TEST_CASE("text put in a log line is escaped: no line break, no terminal control, bounded") {
  CHECK(escaped_for_log("http://a/b\r\nX: y") == "http://a/b\\x0d\\x0aX:\\x20y");
  CHECK(escaped_for_log("\x1b]0;t\x07\xc3\xa9") == "\\x1b]0;t\\x07\\xc3\\xa9");
  CHECK(escaped_for_log(std::string(300, 'a'), 10) == "aaaaaaaaaa...");
}
