#pragma once
/// Moved to agner::snapshot (agner/snapshot/snapshot.hpp); this forwarding header keeps the old include path working
/// for node/ and alarms/ until they include the new one.
#include "agner/snapshot/snapshot.hpp"
