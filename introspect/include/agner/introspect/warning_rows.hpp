#pragma once
/// Moved to agner::snapshot (agner/snapshot/warning_rows.hpp); this forwarding header keeps the old include path working
/// for node/ and alarms/ until they include the new one.
#include "agner/snapshot/warning_rows.hpp"
