#pragma once
// etop --replay FILE: a recording played back in etop's screens, no node needed (docs/etop.md).
#include <cstddef>
#include <string>

#include "agner/etop/view.hpp"

namespace agner::etop {

struct replay_options {
  std::string file;
  column_id sort = column_id::msgq;
  bool batch = false;     ///< print every refresh as text (as --batch does) instead of drawing
  std::size_t lines = 20; ///< batch: rows per refresh
};

/// Reads the whole recording first (a malformed line stops etop before the screen is taken, with
/// "FILE line N: why"), then plays it at its recorded pace times the speed. Returns the exit status;
/// throws std::runtime_error with the sentence for the operator. Owns the terminal while it runs.
int replay(const replay_options& o);

}  // namespace agner::etop
