// launch.hpp: internal to lib/reduce/cuda: the per-dtype kernel launchers.
//
// Each reduce_copy_<group>.cu instantiates reduce_copy_kernel<T, Op> for its
// dtypes (one kernel per (dtype, op); inputs, outputs and divisor are run-time
// values, so 48 kernels cover every call) and launch_typed<T> for them; the
// split into several files lets a parallel build compile them side by side.
#pragma once

#include <cuda_runtime_api.h>

#include "colossus/types.hpp"

namespace colossus::reduce::gpu {

struct Operands;

namespace detail {

inline constexpr int kThreads = 256;  // per block of the standalone kernel

// Launches reduce_copy_kernel<T, Op(op)> on `blocks` blocks of kThreads.
template <class T>
cudaError_t launch_typed(ReduceOp op, const Operands& operands, unsigned blocks,
                         cudaStream_t stream);

}  // namespace detail
}  // namespace colossus::reduce::gpu
