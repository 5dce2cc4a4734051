#include "terminal.hpp"

#include <langinfo.h>

#include <clocale>
#include <algorithm>
#include <cstring>

#include <ncurses.h>

namespace agner::etop {

terminal::terminal() {
  std::setlocale(LC_ALL, "");
  unicode_ = std::strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
  initscr();
  cbreak();
  noecho();
  keypad(stdscr, TRUE);
  set_escdelay(25);
  curs_set(0);
}

terminal::~terminal() { endwin(); }

int terminal::width() const { return COLS; }
int terminal::height() const { return LINES; }

void terminal::draw(const frame& f) {
  erase();
  for (int y = 0; y < static_cast<int>(f.lines.size()) && y < LINES; ++y) {
    const bool rev = std::find(f.reversed.begin(), f.reversed.end(), y) != f.reversed.end();
    if (rev) attron(A_REVERSE);
    mvaddnstr(y, 0, f.lines[static_cast<std::size_t>(y)].c_str(), -1);
    if (rev) attroff(A_REVERSE);
  }
  refresh();
}

int terminal::key(int ms) {
  timeout(ms);
  const int k = getch();
  switch (k) {
    case ERR: return -1;
    case KEY_UP: return keys::up;
    case KEY_DOWN: return keys::down;
    case KEY_LEFT: return keys::left;
    case KEY_RIGHT: return keys::right;
    case KEY_PPAGE: return keys::page_up;
    case KEY_NPAGE: return keys::page_down;
    case KEY_HOME: return keys::home;
    case KEY_END: return keys::end;
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
