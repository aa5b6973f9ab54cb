// residency.cc: how many channels ranks sharing one GPU may each run
// (stream_executor.hpp). Blocks of one collective wait on each other through
// their FIFOs, across the kernels of every rank on the GPU, so all of them
// must be resident at once: a block that cannot start would stall its peers.
#include <algorithm>

#include "exec/cuda/stream_executor.hpp"

namespace colossus::exec::gpu {

int max_resident_channels(int resident_blocks, int sharing) {
  if (sharing < 1) sharing = 1;
  return std::max(1, resident_blocks / sharing);
}

}  // namespace colossus::exec::gpu
