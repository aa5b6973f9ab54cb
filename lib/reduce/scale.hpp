// scale.hpp: the scaling kernel of the pre-multiplied sum (CPU).
//
// out[i] = in[i] * scalar for i in [0, count), the scalar being one element
// of `dtype` (its bytes, any alignment). The arithmetic is FuncScale's
// (functors.hpp): integers wrap as the integer sum does; fp16, bf16 and fp8
// widen to fp32, multiply and round to nearest even once (fp8 saturates
// finite overflow, e4m3 also inf; NaN stays NaN); fp32 and fp64 multiply in
// their own type. out may equal in exactly (in place) but must not partially
// overlap it. count == 0 touches nothing. The CUDA form is
// gpu::scale_async (cuda/reduce_cuda.hpp).
#pragma once

#include <cstddef>

#include "colossus/types.hpp"

namespace colossus::reduce {

void scale(DataType dtype, const void* in, void* out, std::size_t count, const void* scalar);

}  // namespace colossus::reduce
