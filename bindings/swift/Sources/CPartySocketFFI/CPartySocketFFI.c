/* SwiftPM needs a source file in a C target; the functions are in the Rust library. */
#include "CPartySocketFFI.h"
