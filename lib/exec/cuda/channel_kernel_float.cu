// The device-side executor's floating-point instantiations (see channel_kernel.cuh).
#include "exec/cuda/channel_kernel_launch.cuh"

COLOSSUS_INSTANTIATE_CHANNELS(float);
COLOSSUS_INSTANTIATE_CHANNELS(double);
COLOSSUS_INSTANTIATE_CHANNELS(colossus::reduce::Half);
COLOSSUS_INSTANTIATE_CHANNELS(colossus::reduce::BFloat16);
COLOSSUS_INSTANTIATE_CHANNELS(colossus::reduce::Float8E4M3);
COLOSSUS_INSTANTIATE_CHANNELS(colossus::reduce::Float8E5M2);

namespace colossus::exec::gpu {

// The fewest blocks per SM any of these kernels fits (the widest types use
// the most registers; integer kernels use fewer).
int channel_blocks_per_sm() {
  int fewest = 1 << 30;
  auto take = [&](auto kernel) {
    int n = 0;
    if (cudaOccupancyMaxActiveBlocksPerMultiprocessor(&n, kernel, kChannelThreads, 0) ==
        cudaSuccess)
      fewest = n < fewest ? n : fewest;
  };
  using reduce::FuncSum;
  take(channel_kernel<float, FuncSum<float>>);
  take(channel_kernel<double, FuncSum<double>>);
  take(channel_kernel<reduce::BFloat16, FuncSum<float>>);
  take(channel_kernel<reduce::Half, FuncSum<float>>);
  return fewest == (1 << 30) ? 1 : (fewest < 1 ? 1 : fewest);
}

}  // namespace colossus::exec::gpu
