#pragma once
// The terminal: the only part of etop that talks to ncurses (terminal.cpp includes it).
#include <string>

#include "agner/etop/render.hpp"

namespace agner::etop {

class terminal {
 public:
  /// Why etop cannot take over this screen, as one sentence pointing to --batch, or empty when it
  /// can: stdout or stdin is not a terminal. Call before constructing a terminal.
  static std::string not_a_terminal();
  /// Why this terminal cannot draw a screen although it is one (TERM unset or unknown, or a
  /// terminal that cannot move its cursor, such as TERM=dumb in an Emacs shell buffer), or empty
  /// when it can. etop then prints batch refreshes, which such a terminal shows well.
  static std::string cannot_draw();

  /// Takes over the screen. SIGINT, SIGTERM and SIGHUP restore the terminal (normal screen, cursor,
  /// modes) and end etop with the signal's usual status, whatever etop is doing at the time.
  terminal();
  ~terminal();
  terminal(const terminal&) = delete;
  terminal& operator=(const terminal&) = delete;

  int width() const;
  int height() const;
  bool unicode() const { return unicode_; }
  /// Copies `f` to the screen.
  void draw(const frame& f);
  /// The next key within `ms` milliseconds as an etop::keys code or a character; -1 if none came;
  /// keys::input_lost when the terminal keeps answering "no input" at once (it went away), so the
  /// caller never spins on a dead input.
  int key(int ms);

 private:
  bool unicode_ = false;
  int early_errors_ = 0;
};

}  // namespace agner::etop
