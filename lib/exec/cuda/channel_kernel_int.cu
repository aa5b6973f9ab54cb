// The device-side executor's integer instantiations (see channel_kernel.cuh).
#include <cstdint>

#include "exec/cuda/channel_kernel_launch.cuh"

COLOSSUS_INSTANTIATE_CHANNELS(std::int8_t);
COLOSSUS_INSTANTIATE_CHANNELS(std::uint8_t);
COLOSSUS_INSTANTIATE_CHANNELS(std::int32_t);
COLOSSUS_INSTANTIATE_CHANNELS(std::uint32_t);
COLOSSUS_INSTANTIATE_CHANNELS(std::int64_t);
COLOSSUS_INSTANTIATE_CHANNELS(std::uint64_t);
