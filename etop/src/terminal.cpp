#include "terminal.hpp"

#include <langinfo.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <clocale>
#include <cstdlib>
#include <cstring>

#include <ncurses.h>
#include <term.h>
#undef lines  // term.h names every capability as a macro
#undef columns

namespace agner::etop {
namespace {

// What the signal handler needs to put the terminal back, prepared before the screen is taken:
// the tty modes as they were and the terminfo strings that leave the alternate screen.
struct termios saved_modes;
bool have_modes = false;
char reset_sequence[256];
std::size_t reset_length = 0;

void append_cap(const char* name) {
  const char* s = tigetstr(const_cast<char*>(name));
  if (!s || s == reinterpret_cast<char*>(-1)) return;
  const std::size_t n = std::strlen(s);
  if (reset_length + n >= sizeof reset_sequence) return;
  std::memcpy(reset_sequence + reset_length, s, n);
  reset_length += n;
}

extern "C" void restore_and_die(int sig) {
  // Only async-signal-safe calls: write, tcsetattr, signal, raise. The signal stays blocked until
  // the handler returns, so the interrupted code may run on a moment: it gets its errno back.
  const int saved_errno = errno;
  if (reset_length) {
    const ssize_t n = write(STDOUT_FILENO, reset_sequence, reset_length);
    (void)n;
  }
  if (have_modes) tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_modes);
  signal(sig, SIG_DFL);
  raise(sig);
  errno = saved_errno;
}

bool usable_string(const char* s) { return s && s != reinterpret_cast<char*>(-1) && *s; }

}  // namespace

std::string terminal::not_a_terminal() {
  constexpr const char* batch = "use --batch (or --batch --json) to print the table instead";
  if (!isatty(STDOUT_FILENO)) return std::string("stdout is not a terminal; ") + batch;
  if (!isatty(STDIN_FILENO)) return std::string("stdin is not a terminal, so etop cannot read keys; ") + batch;
  return {};
}

std::string terminal::cannot_draw() {
  const char* term = std::getenv("TERM");
  if (!term || !*term) return "TERM is not set, so etop cannot drive this terminal";
  int err = 0;
  if (setupterm(nullptr, STDOUT_FILENO, &err) != OK)
    return std::string("TERM=") + term + " is not a terminal type this system knows (no terminfo entry)";
  const bool addressable = usable_string(tigetstr(const_cast<char*>("cup"))) && tigetflag(const_cast<char*>("hc")) <= 0;
  del_curterm(cur_term);
  if (!addressable) return std::string("TERM=") + term + " cannot move the cursor, so etop cannot draw a screen";
  return {};
}

terminal::terminal() {
  std::setlocale(LC_ALL, "");
  unicode_ = std::strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
  have_modes = tcgetattr(STDIN_FILENO, &saved_modes) == 0;
  int err = 0;
  if (setupterm(nullptr, STDOUT_FILENO, &err) == OK) {
    append_cap("sgr0");
    append_cap("cnorm");
    append_cap("rmcup");
    del_curterm(cur_term);
  }
  struct sigaction sa {};
  sa.sa_handler = restore_and_die;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaction(sig, &sa, nullptr);  // before initscr: ncurses keeps ours
  initscr();
  cbreak();
  noecho();
  keypad(stdscr, TRUE);
  // terminfo knows one form of Home and End per terminal, but tmux, screen, rxvt and the Linux
  // console send others whatever TERM says: without these, ESC [ H arrives as Esc then 'H'.
  for (const char* seq : {"\033[1~", "\033[7~", "\033[H", "\033OH"}) define_key(seq, KEY_HOME);
  for (const char* seq : {"\033[4~", "\033[8~", "\033[F", "\033OF"}) define_key(seq, KEY_END);
  define_key("\033[1;2D", KEY_SLEFT);  // xterm and tmux Shift-Left/Right: replay seeks ten refreshes
  define_key("\033[1;2C", KEY_SRIGHT);
  set_escdelay(25);
  curs_set(0);
}

terminal::~terminal() {
  endwin();
  struct sigaction sa {};
  sa.sa_handler = SIG_DFL;
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaction(sig, &sa, nullptr);
}

int terminal::width() const { return COLS; }
int terminal::height() const { return LINES; }

void terminal::draw(const frame& f) {
  erase();
  for (int y = 0; y < static_cast<int>(f.lines.size()) && y < LINES; ++y) {
    const bool rev = std::find(f.reversed.begin(), f.reversed.end(), y) != f.reversed.end();
    const bool bold = std::find(f.bold.begin(), f.bold.end(), y) != f.bold.end();
    if (rev) attron(A_REVERSE);
    if (bold) attron(A_BOLD);
    mvaddnstr(y, 0, f.lines[static_cast<std::size_t>(y)].c_str(), -1);
    if (bold) attroff(A_BOLD);
    if (rev) attroff(A_REVERSE);
  }
  refresh();
}

int terminal::key(int ms) {
  const auto start = std::chrono::steady_clock::now();
  timeout(ms);
  const int k = getch();
  if (k == ERR) {
    // A timeout is the usual ERR. ERR long before the timeout, again and again, means the input
    // is gone (hang-up, closed pty): report it instead of letting the caller spin.
    const auto waited = std::chrono::steady_clock::now() - start;
    if (ms >= 100 && waited < std::chrono::milliseconds(ms / 4)) {
      if (++early_errors_ >= 20) return keys::input_lost;
    } else {
      early_errors_ = 0;
    }
    return -1;
  }
  early_errors_ = 0;
  switch (k) {
    case KEY_UP: return keys::up;
    case KEY_DOWN: return keys::down;
    case KEY_LEFT: return keys::left;
    case KEY_RIGHT: return keys::right;
    case KEY_SLEFT: return keys::shift_left;
    case KEY_SRIGHT: return keys::shift_right;
    case KEY_PPAGE: return keys::page_up;
    case KEY_NPAGE: return keys::page_down;
    case KEY_HOME:
    case KEY_FIND: return keys::home;    // ESC [ 1 ~ where terminfo calls it Find
    case KEY_END:
    case KEY_SELECT: return keys::end;   // ESC [ 4 ~ where terminfo calls it Select
    case KEY_BACKSPACE:
    case 127:
    case 8: return keys::backspace;
    case KEY_ENTER:
    case '\r':
    case '\n': return keys::enter;
    case KEY_RESIZE: return keys::resize;
    case KEY_F(1): return 'h';
    default: return k;
  }
}

}  // namespace agner::etop
