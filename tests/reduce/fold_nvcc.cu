// fold_nvcc.cu: fold.hpp (with functors.hpp and float_convert.hpp) built by nvcc.
//
// Two things, for fold_test.cc:
// - fold_nvcc(): the fold over buffers, compiled by nvcc's host pass (the
//   COLOSSUS_HD functions as __host__ __device__), so the test can compare it
//   with the host compiler's build of the same code, bit for bit;
// - fold_every_dtype_op: a kernel that instantiates the fold for every dtype
//   and op on the device, so a header change that breaks the device build of
//   the shared arithmetic fails this build (the CPU-only CI has no GPU to run it).
#include <cstddef>
#include <cstring>

#include "colossus/types.hpp"
#include "reduce/dispatch.hpp"
#include "reduce/fold.hpp"

namespace colossus::reduce::testing {

void fold_nvcc(DataType dtype, ReduceOp op, const void* const* in, int k, int divisor, void* out,
               std::size_t count) {
  dispatch_dtype_op(dtype, op, [&](auto type_tag, auto op_tag) {
    using T = typename decltype(type_tag)::type;
    using Op = typename decltype(op_tag)::type;
    T x[8];
    for (std::size_t i = 0; i < count; ++i) {
      for (int j = 0; j < k; ++j) std::memcpy(&x[j], static_cast<const T*>(in[j]) + i, sizeof(T));
      const T r = Fold<T, Op>::apply(x, k, divisor);
      std::memcpy(static_cast<T*>(out) + i, &r, sizeof(T));
    }
  });
}

// Never launched here: compiled for the device for every (dtype, op).
__global__ void fold_every_dtype_op(DataType dtype, ReduceOp op, const void* const* in, int k,
                                    int divisor, void* out) {
  dispatch_dtype_op(dtype, op, [&](auto type_tag, auto op_tag) {
    using T = typename decltype(type_tag)::type;
    using Op = typename decltype(op_tag)::type;
    T x[8];
    for (int j = 0; j < k && j < 8; ++j) x[j] = static_cast<const T*>(in[j])[threadIdx.x];
    static_cast<T*>(out)[threadIdx.x] = Fold<T, Op>::apply(x, k, divisor);
  });
}

}  // namespace colossus::reduce::testing
