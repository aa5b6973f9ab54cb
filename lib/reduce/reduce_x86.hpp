// reduce_x86.hpp: AVX2 + F16C kernels for the fp16, bf16 and fp8 reductions (internal).
//
// The library is built for baseline x86-64, where the portable loops of
// reduce_cpu.cc widen and narrow fp16 with integer bit tricks (SSE2 has no
// half-precision conversion). reduce_x86.cc holds hand-written AVX2 + F16C
// loops for fp16 and bf16, reduce_x86_fp8.cc for fp8 e4m3 and e5m2 (sharing
// reduce_x86_impl.hpp), compiled with a per-function target attribute and
// chosen at run time when the CPU has both extensions. They give the same
// bits as the portable path for every input (tests/reduce/reduce_x86_test.cc
// holds that true), NaN payloads included.
//
// Not x86-64, or not GCC/Clang: there are no kernels and half_kernel() is
// always nullptr.
#pragma once

#include <cstddef>

#include "reduce/reduce.hpp"

namespace colossus::reduce::x86 {

// out[0, n) = op(a[i], b[i]), divided by the divisor when it is > 1; with
// b == nullptr, out[i] = a[i] / divisor. Elements are fp16, bf16 or fp8 bit
// patterns; out may equal a or b exactly (no partial overlap), a may equal b.
using HalfKernel = void (*)(const void* a, const void* b, void* out, std::size_t n, int divisor);

// Whether this build has the kernels and this CPU can run them (AVX2, F16C,
// and the OS saves the YMM registers). Resolved once.
bool half_kernels_available();

// Whether the fp8 kernels run on AVX-512 (F, BW, VL): this CPU has it and
// set_avx512_enabled has not turned it off. set_avx512_enabled(false) is for
// tests, to reach the AVX2 fp8 kernels on an AVX-512 CPU.
bool avx512_kernels_available();
void set_avx512_enabled(bool enabled);

// The kernel computing args' dtype, op and divisor (in1 == nullptr: the
// division-only form), or nullptr when the dtype is not fp16 or bf16, the
// kernels are not available, or args is a plain copy. (fp8 included.)
HalfKernel half_kernel(const ReduceCopyArgs& args);

}  // namespace colossus::reduce::x86

namespace colossus::reduce {

// reduce_copy without the x86 kernels: the portable loops only. For tests that
// compare the two paths; everything else calls reduce_copy.
void reduce_copy_portable(const ReduceCopyArgs& args);

}  // namespace colossus::reduce
