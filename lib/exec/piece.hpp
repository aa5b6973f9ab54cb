// piece.hpp: one piece of a Step through the CPU reduce-copy.
//
// The host executor (executor.cc) and the CPU run of the device channel loop
// (tests/exec) bind a step's operands with plan::bind (plan/step_io.hpp) and
// hand them here; the channel kernel hands the same operands to the CUDA
// reduce-copy (channel_kernel.cuh).
#pragma once

#include <cstddef>

#include "colossus/types.hpp"
#include "plan/step_io.hpp"
#include "reduce/reduce.hpp"

namespace colossus::exec {

// ops.out[*] = ops.in[0] (+) ops.in[1] over `count` elements of `dtype`, (+)
// being `op` (Avg reduces as Sum), divided by `divisor` when > 1 (a finalize).
inline void reduce_copy_piece(const plan::PieceOperands& ops, DataType dtype, ReduceOp op,
                              std::size_t count, int divisor) {
  if (ops.out[0] == nullptr || ops.nothing_to_do(divisor)) return;  // (no such kind)
  reduce::ReduceCopyArgs r;
  r.dtype = dtype;
  r.op = op;
  r.in0 = ops.in[0];
  r.in1 = ops.in[1];
  r.out0 = ops.out[0];
  r.out1 = ops.out[1];
  r.count = count;
  r.divisor = divisor;
  reduce::reduce_copy(r);
}

}  // namespace colossus::exec
