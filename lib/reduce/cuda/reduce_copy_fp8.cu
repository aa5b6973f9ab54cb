// The fp8 (e4m3, e5m2) instantiations of the fused reduce-copy (see launch.hpp).
#include "reduce/cuda/kernel.cuh"

COLOSSUS_INSTANTIATE_LAUNCH(colossus::reduce::Float8E4M3);
COLOSSUS_INSTANTIATE_LAUNCH(colossus::reduce::Float8E5M2);
