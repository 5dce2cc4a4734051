#pragma once
/// Moved to agner/snapshot/admission.hpp (the admission interface is part of the shared vocabulary);
/// this path stays for existing includes.
#include "agner/snapshot/admission.hpp"
