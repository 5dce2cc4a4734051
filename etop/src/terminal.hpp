#pragma once
// The terminal: the only part of etop that talks to ncurses (terminal.cpp includes it).
#include "agner/etop/render.hpp"

namespace agner::etop {

class terminal {
 public:
  terminal();
  ~terminal();
  terminal(const terminal&) = delete;
  terminal& operator=(const terminal&) = delete;

  int width() const;
  int height() const;
  bool unicode() const { return unicode_; }
  /// Copies `f` to the screen.
  void draw(const frame& f);
  /// The next key within `ms` milliseconds as an etop::keys code or a character; -1 if none came.
  int key(int ms);

 private:
  bool unicode_ = false;
};

}  // namespace agner::etop
