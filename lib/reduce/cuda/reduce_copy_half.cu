// The fp16 and bf16 instantiations of the fused reduce-copy (see launch.hpp).
#include "reduce/cuda/kernel.cuh"

COLOSSUS_INSTANTIATE_LAUNCH(colossus::reduce::Half);
COLOSSUS_INSTANTIATE_LAUNCH(colossus::reduce::BFloat16);
