// The integer instantiations of the fused reduce-copy (see launch.hpp).
#include <cstdint>

#include "reduce/cuda/kernel.cuh"

COLOSSUS_INSTANTIATE_LAUNCH(std::int8_t);
COLOSSUS_INSTANTIATE_LAUNCH(std::uint8_t);
COLOSSUS_INSTANTIATE_LAUNCH(std::int32_t);
COLOSSUS_INSTANTIATE_LAUNCH(std::uint32_t);
COLOSSUS_INSTANTIATE_LAUNCH(std::int64_t);
COLOSSUS_INSTANTIATE_LAUNCH(std::uint64_t);
