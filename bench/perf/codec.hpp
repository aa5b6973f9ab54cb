// codec.hpp: element encoding for the *_perf correctness check.
//
// The check fills buffers with chosen numbers and reads results back as
// doubles, for every DataType of the API. fp16, bf16 and the two fp8 formats
// have no C++ type here, so they are encoded by hand: round to nearest even,
// subnormals kept, overflow to infinity (to NaN for e4m3, which has no
// infinity, as CUDA's __nv_fp8_e4m3). Integers wrap (two's complement), the
// library's own rule, so an expected value computed in 64 bits and encoded
// here matches what a wrapping reduction produces.
#pragma once

#include <cstddef>
#include <cstdint>

#include "colossus/types.hpp"

namespace colossus::perf {

// Writes `value` as one element of `type` at `dst`.
void encode(DataType type, double value, void* dst);
// Reads the element of `type` at `src`.
double decode(DataType type, const void* src);

// Unit roundoff of a floating type (half an ulp at 1.0); 0 for integers.
double unit_roundoff(DataType type);
// Half the smallest positive subnormal of a floating type; 0 for integers.
double half_min_subnormal(DataType type);
// Largest L such that every integer in [-L, L] (in [0, L] when unsigned) is
// exactly representable.
double exact_integer_limit(DataType type);

bool is_signed(DataType type);

}  // namespace colossus::perf
