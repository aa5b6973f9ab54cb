// The fp32 and fp64 instantiations of the fused reduce-copy (see launch.hpp).
#include "reduce/cuda/kernel.cuh"

COLOSSUS_INSTANTIATE_LAUNCH(float);
COLOSSUS_INSTANTIATE_LAUNCH(double);
