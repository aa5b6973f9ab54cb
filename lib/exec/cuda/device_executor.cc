// device_executor.cc: dtype dispatch for launch_channels (see device_executor.hpp).
#include "exec/cuda/device_executor.hpp"

#include "reduce/dispatch.hpp"

namespace colossus::exec::gpu {
namespace detail {
template <class T>
cudaError_t launch_typed(ReduceOp op, const WorkBatch& batch, int num_works, bool cooperative,
                         cudaStream_t stream);
}  // namespace detail

cudaError_t launch_channels(DataType dtype, ReduceOp op, const DeviceWork* works, int num_works,
                            bool cooperative, cudaStream_t stream) {
  if (works == nullptr || num_works < 1 || num_works > kMaxWorksPerLaunch)
    return cudaErrorInvalidValue;
  WorkBatch batch{};
  for (int i = 0; i < num_works; ++i) batch.works[i] = works[i];
  cudaError_t err = cudaErrorInvalidValue;
  reduce::dispatch_dtype_op(dtype, op, [&](auto type_tag, auto) {
    using T = typename decltype(type_tag)::type;
    err = detail::launch_typed<T>(op, batch, num_works, cooperative, stream);
  });
  return err;
}

}  // namespace colossus::exec::gpu
