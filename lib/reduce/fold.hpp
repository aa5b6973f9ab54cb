// fold.hpp: one output element from k input elements, as the CUDA kernel computes it.
//
// The fused CUDA reduce-copy reduces k inputs (k = 1..8) into m outputs in one
// pass. Per element it runs exactly this fold, compiled by nvcc for the device
// and by the host compiler for the tests, which compare the GPU's outputs with
// it bit for bit:
//
//   acc = load(in[0]); acc = op(acc, load(in[j])) for j = 1..k-1, in order;
//   acc = acc / divisor when divisor > 1;  out = store(acc)
//
// load/store/op are functors.hpp's (fp16, bf16, fp8 accumulate in fp32, one
// rounding back to storage at the end). For k = 1 and k = 2 this is the CPU
// reduce_copy's arithmetic exactly (tests/reduce/fold_test.cc holds it so).
// For k > 2 with a narrow float type it is NOT a chain of reduce_copy calls,
// which would round to storage after every input: the fold rounds once.
// Avg is Sum with the divisor, as for reduce_copy. k = 1 without a divisor is
// a copy of the bits (no widening: a signalling NaN stays signalling).
#pragma once

#include "base/hd.hpp"
#include "reduce/functors.hpp"

namespace colossus::reduce {

template <class T, class Op>
struct Fold {
  using Traits = ReduceTraits<T>;
  using Compute = typename Traits::Compute;

  COLOSSUS_HD_INLINE static Compute first(T x) { return Traits::load(x); }
  COLOSSUS_HD_INLINE static Compute next(Compute acc, T x) { return Op{}(acc, Traits::load(x)); }
  COLOSSUS_HD_INLINE static T finish(Compute acc, int divisor) {
    if (divisor > 1) acc = FuncDivide<Compute>(divisor)(acc);
    return Traits::store(acc);
  }

  // The whole fold for one element: in[0..k) -> the stored result.
  COLOSSUS_HD_INLINE static T apply(const T* in, int k, int divisor) {
    if (k == 1 && divisor <= 1) return in[0];
    Compute acc = first(in[0]);
    for (int j = 1; j < k; ++j) acc = next(acc, in[j]);
    return finish(acc, divisor);
  }
};

}  // namespace colossus::reduce
