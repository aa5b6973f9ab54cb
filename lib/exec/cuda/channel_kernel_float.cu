// The device-side executor's floating-point instantiations (see channel_kernel.cuh).
#include "exec/cuda/channel_kernel_launch.cuh"

COLOSSUS_INSTANTIATE_CHANNELS(float);
COLOSSUS_INSTANTIATE_CHANNELS(double);
COLOSSUS_INSTANTIATE_CHANNELS(colossus::reduce::Half);
COLOSSUS_INSTANTIATE_CHANNELS(colossus::reduce::BFloat16);
COLOSSUS_INSTANTIATE_CHANNELS(colossus::reduce::Float8E4M3);
COLOSSUS_INSTANTIATE_CHANNELS(colossus::reduce::Float8E5M2);
