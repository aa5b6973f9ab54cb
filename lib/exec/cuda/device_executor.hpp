// device_executor.hpp: launching the device-side executor (host API).
//
// launch_channels enqueues channel_kernel<T, Op> for (dtype, op) with one
// block per DeviceWork (works: a HOST array of num_works <= kMaxWorksPerLaunch,
// copied into the launch's parameters, so it may be reused at once and a
// graph-captured launch owns its copy). One rank's
// channels normally; a test may pass every rank's channels of a single-GPU
// simulation at once. Blocks of one launch wait on each other through their
// FIFOs, so they must all be resident together: with `cooperative` the launch
// is a cooperative one, which the driver refuses (an error, not a hang) when
// they cannot be; without it the caller vouches for co-residency (or for the
// peers being other kernels, other GPUs). Buffers, rings and counters must be
// 16-byte aligned for full-speed pieces (any element alignment is correct).
#pragma once

#include <cuda_runtime_api.h>

#include "colossus/types.hpp"
#include "exec/cuda/device_plan.hpp"

namespace colossus::exec::gpu {

cudaError_t launch_channels(DataType dtype, ReduceOp op, const DeviceWork* works, int num_works,
                            bool cooperative, cudaStream_t stream);

// Blocks of the channel kernel one SM of the current device holds at once
// (the fewest over the kernels' instantiations; at least 1).
int channel_blocks_per_sm();

}  // namespace colossus::exec::gpu
