#pragma once
// The terminal: the only part of etop that talks to ncurses (terminal.cpp includes it).
#include <string>

#include "agner/etop/render.hpp"

namespace agner::etop {

class terminal {
 public:
  /// Why etop cannot draw here, as one sentence pointing to --batch, or empty when it can: stdout
  /// or stdin is not a terminal, TERM is unset or unknown, or the terminal cannot move its cursor
  /// (TERM=dumb). Call before constructing a terminal.
  static std::string unusable();

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
