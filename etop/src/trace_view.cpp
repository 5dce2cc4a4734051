#include "agner/etop/trace_view.hpp"

#include <ctime>

#include <fmt/format.h>

#include "agner/etop/format.hpp"
#include "agner/etop/text.hpp"

namespace agner::etop {

namespace {
std::string clock_ms(std::int64_t at_ms) {
  const std::time_t s = static_cast<std::time_t>(at_ms / 1000);
  std::tm tm{};
  localtime_r(&s, &tm);
  return fmt::format("{:02}:{:02}:{:02}.{:03}", tm.tm_hour, tm.tm_min, tm.tm_sec, at_ms % 1000);
}

std::string end_sentence(const nlohmann::json& f) {
  const std::string reason = f.at("reason").get<std::string>();
  const auto shown = f.at("shown").get<std::uint64_t>();
  const auto suppressed = f.at("suppressed").get<std::uint64_t>();
  std::string why = reason == "count"     ? "its message budget is spent"
                    : reason == "seconds" ? "its time budget passed"
                    : reason == "stopped" ? "stopped"
                    : reason == "exited"  ? "the process exited: " + f.value("exit_reason", std::string("?"))
                                          : reason;
  return fmt::format("trace ended ({}): {} shown, {} not shown (rate limit)", printable(why), shown, suppressed);
}
}  // namespace

std::string trace_line(const nlohmann::json& e) {
  const bool received = e.at("kind").get<std::string>() == "received";
  const auto& peer = e.at("peer");
  const std::string other = peer.is_string() ? peer.get<std::string>() : std::string("outside");
  std::string line = fmt::format("{} {} {} {:<12} {:<16} {:>6}", clock_ms(e.at("at_ms").get<std::int64_t>()),
                                 e.at("pid").get<std::string>(), received ? "<-" : "->", other,
                                 short_type(e.at("type").get<std::string>()), bytes(e.at("bytes").get<std::uint64_t>()));
  const std::string text = e.value("text", std::string());
  if (!text.empty()) line += "  " + text + (e.value("cut", false) ? "..." : "");
  return printable(line);
}

bool apply_trace_frame(trace_pane& p, const nlohmann::json& f) {
  const std::string kind = f.value("event", std::string());
  if (kind == "trace") {
    p.lines.push_back(trace_line(f));
    if (p.lines.size() > trace_pane::max_lines) p.lines.pop_front();
    p.shown = f.at("n").get<std::uint64_t>();
    p.suppressed = f.at("suppressed").get<std::uint64_t>();
    return true;
  }
  if (kind == "trace_suppressed") {
    p.suppressed = f.at("suppressed").get<std::uint64_t>();
    return true;
  }
  if (kind == "trace_end") {
    p.ended = true;
    p.shown = f.at("shown").get<std::uint64_t>();
    p.suppressed = f.at("suppressed").get<std::uint64_t>();
    p.status = end_sentence(f);
    return true;
  }
  return false;
}

frame trace_screen(const trace_pane& p, const view_state& v, int width, int height) {
  frame f;
  f.lines.push_back(fmt::format("TRACE {} {}: {} shown, {} not shown (rate limit){}", p.target, printable(p.title), p.shown,
                                p.suppressed, p.ended ? "" : ", running"));
  f.reversed.push_back(0);
  const bool notice = !v.notice.empty() || !p.status.empty();
  if (!v.notice.empty()) f.lines.push_back(printable(v.notice));
  if (!p.status.empty()) f.lines.push_back(p.status);
  const int room = std::max(0, height - 1 - static_cast<int>(f.lines.size()));
  if (p.lines.empty() && !p.ended && !notice) f.lines.push_back("waiting for messages...");
  const std::size_t take = std::min(p.lines.size(), static_cast<std::size_t>(room));
  for (std::size_t i = p.lines.size() - take; i < p.lines.size(); ++i) f.lines.push_back(p.lines[i]);
  f.lines.resize(static_cast<std::size_t>(std::max(0, height - 1)));
  f.lines.push_back(p.ended ? "Esc back" : "Esc back (stops the trace)  space pause");
  f.lines.resize(static_cast<std::size_t>(std::max(0, height)));
  for (auto& l : f.lines) l = fit(l, width);
  return f;
}

outcome trace_key(view_state& v, pid target) {
  if (!target) return {};
  if (!v.admin) {
    v.notice = "'T' needs the admin role: a trace shows message contents; this session is a viewer (attach as admin to trace)";
    return {outcome::redraw};
  }
  return {outcome::trace, target};
}

outcome on_trace_key(view_state& v, int key) {
  if (key == keys::escape || key == keys::backspace || key == 'q') {
    v.current = v.inspecting.empty() ? screen::table : screen::inspect;
    return {outcome::untrace};
  }
  return {};
}

}  // namespace agner::etop
