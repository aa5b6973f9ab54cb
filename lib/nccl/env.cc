// nccl/env.cc: NCCL's environment, as far as a C function reaches it.
//
// libcolossus reads NCCL_* variables itself (lib/base/config_nccl.cc), in
// every process that loads it; what is left here is NCCL's way to read the
// logging ones again after the program changed them.
#include "nccl/nccl_impl.hpp"

extern "C" {

// Re-reads NCCL_DEBUG, NCCL_DEBUG_FILE and NCCL_DEBUG_SUBSYS (and their
// COLOSSUS_* counterparts, which win); the other variables keep the values
// read at first use.
void ncclResetDebugInit() {
  try {
    colossus::reload_log_settings();
  } catch (...) {  // out of memory: the old settings stay, and nothing crosses the C ABI
  }
}

}  // extern "C"

COLOSSUS_NCCL_ALIAS(ncclResetDebugInit);
