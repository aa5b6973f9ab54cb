// nccl/simulate.cc: ncclGroupSimulateEnd, the group's time from colossus's
// tuner model (colossus::group_simulate_end) instead of running it.
#include <cstddef>
#include <string>

#include "nccl/nccl_impl.hpp"

using namespace colossus;
using namespace colossus::nccl;

namespace {
constexpr unsigned kSimInfoMagic = 0x74685283;  // NCCL_SIM_INFO_INITIALIZER's
}

extern "C" {

ncclResult_t ncclGroupSimulateEnd(ncclSimInfo_t* simInfo) {
  const char* fn = "ncclGroupSimulateEnd";
  return guarded(fn, nullptr, [&] {
    check_ptr(fn, "simInfo", simInfo);
    if (simInfo->magic != kSimInfoMagic ||
        simInfo->size < offsetof(ncclSimInfo_t, estimatedTime) + sizeof(float))
      fail(ncclInvalidArgument,
           std::string(fn) + ": simInfo was not initialized with NCCL_SIM_INFO_INITIALIZER");
    simInfo->estimatedTime = static_cast<float>(group_simulate_end());  // microseconds
    return ncclSuccess;
  });
}

}  // extern "C"

COLOSSUS_NCCL_ALIAS(ncclGroupSimulateEnd);
