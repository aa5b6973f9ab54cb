// reduce.hpp: CPU reduction kernels (the host half of lib/reduce/).
//
// One entry point, one fused pass: reads one or two inputs, writes one or
// two outputs. All dtypes and ops of the API; fp16, bf16 and fp8 are widened
// to fp32, reduced, and rounded back to nearest-even (NaN and infinities
// preserved). Integer sums wrap (two's complement); Avg reduces as Sum and
// the finalizing step divides by `divisor` (integers truncate toward zero).
//
// Details (implementation: reduce_cpu.cc, float_convert.hpp, functors.hpp):
// - The Avg sum is rounded to the compute type (fp32 for the narrow floats)
//   before the division, so it can overflow there; the quotient is a true
//   division in that type, rounded once more to the storage type.
// - fp8 follows NVIDIA's __NV_SATFINITE: finite results beyond the largest
//   finite value saturate to it (e4m3 +-448, e5m2 +-57344); e4m3 has no inf,
//   so inf saturates too; e5m2 keeps inf. NaN stays NaN for every type.
// - Max and Min propagate NaN (unlike fmax/fmin).
// - divisor > 1 divides whatever the op; callers pass it with Avg only.
#pragma once

#include <cstddef>

#include "colossus/types.hpp"

namespace colossus::reduce {

struct ReduceCopyArgs {
  DataType dtype = DataType::Float32;
  ReduceOp op = ReduceOp::Sum;
  const void* in0 = nullptr;  // required
  const void* in1 = nullptr;  // nullptr: no reduction, out = in0 (copy)
  void* out0 = nullptr;       // required
  void* out1 = nullptr;       // optional second destination, same values
  std::size_t count = 0;      // elements
  int divisor = 1;            // > 1: divide the result (Avg finalize); only with Avg
};

// out0[i] (and out1[i]) = in0[i] (+) in1[i], divided by divisor when > 1.
// Buffers may alias exactly (out0 == in0 is fine) but must not partially overlap.
void reduce_copy(const ReduceCopyArgs& args);

}  // namespace colossus::reduce
