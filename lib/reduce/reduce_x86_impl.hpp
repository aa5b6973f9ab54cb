// reduce_x86_impl.hpp: what the AVX2 + F16C kernels of reduce_x86.cc (fp16,
// bf16) and reduce_x86_fp8.cc (fp8 e4m3, e5m2) share: the combining
// operations, the 16-element step and the loop around it (internal; include
// only from those two files, which are built with the same flags). A format
// Fmt supplies kSize (bytes per element), load (16 elements -> Floats16) and
// store<kArithmetic> (Floats16 -> 16 elements).
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstring>

#include "reduce/reduce_x86.hpp"

namespace colossus::reduce::x86::impl {

// Everything that touches a 256-bit register is compiled for AVX2 + F16C; the
// helpers are inlined into the kernels, which have the same target.
#define COLOSSUS_X86_TARGET __attribute__((target("avx2,f16c")))
#define COLOSSUS_X86_INLINE __attribute__((target("avx2,f16c"), always_inline)) inline

// The fp8 kernels (reduce_x86_fp8.cc): as half_kernel, for e4m3 and e5m2.
HalfKernel fp8_kernel(const ReduceCopyArgs& args);
// The same on AVX-512 (reduce_x86_fp8_avx512.cc); the caller checks the CPU.
HalfKernel fp8_kernel_avx512(const ReduceCopyArgs& args);

// 16 elements as floats: two vectors of 8 (which element goes in which lane
// is the format's business; inputs and output use the same placement).
struct Floats16 {
  __m256 lo, hi;
};

// a + b and a * b with a as the first source operand, pinned by writing the
// instruction out. When both operands are NaN, x86 (Intel SDM and AMD APM:
// "first source operand", quieted) returns the first source's NaN; IEEE 754
// leaves the choice open, and the compiler may swap the operands of a
// commutative intrinsic (the portable loops' choice varies with the element's
// position in the vector, the count and the aliasing). Here it is always in0's.
COLOSSUS_X86_INLINE __m256 add_first(__m256 a, __m256 b) {
  __m256 r;
  asm("vaddps %[b], %[a], %[r]" : [r] "=x"(r) : [a] "x"(a), [b] "xm"(b));
  return r;
}
COLOSSUS_X86_INLINE __m256 mul_first(__m256 a, __m256 b) {
  __m256 r;
  asm("vmulps %[b], %[a], %[r]" : [r] "=x"(r) : [a] "x"(a), [b] "xm"(b));
  return r;
}
struct Sum {
  static constexpr bool kArithmetic = true;  // the result comes out of an FPU operation
  COLOSSUS_X86_INLINE static __m256 apply(__m256 a, __m256 b) { return add_first(a, b); }
};
struct Prod {
  static constexpr bool kArithmetic = true;
  COLOSSUS_X86_INLINE static __m256 apply(__m256 a, __m256 b) { return mul_first(a, b); }
};
// FuncMax / FuncMin: a when a > b (a < b: kCmp) or a is NaN, else b (so b
// for equal operands, +0 and -0 included, and for a NaN b against a number a).
template <int Cmp>
struct Pick {
  static constexpr bool kArithmetic = false;  // passes an operand through
  static constexpr int kCmp = Cmp;
  COLOSSUS_X86_INLINE static __m256 apply(__m256 a, __m256 b) {
    const __m256 take_a =
        _mm256_or_ps(_mm256_cmp_ps(a, b, kCmp), _mm256_cmp_ps(a, a, _CMP_UNORD_Q));
    return _mm256_blendv_ps(b, a, take_a);
  }
};
using Max = Pick<_CMP_GT_OQ>;
using Min = Pick<_CMP_LT_OQ>;

// 16 elements of output from 16 of each input (kBinary false: the
// division-only form, b unused). Everything is read before anything is
// written, so out may be a or b.
template <class Fmt, class Op, bool kBinary, bool kDivide>
COLOSSUS_X86_INLINE void step(const unsigned char* a, const unsigned char* b, unsigned char* out,
                              __m256 divisor) {
  Floats16 x = Fmt::load(a);
  if constexpr (kBinary) {
    const Floats16 y = Fmt::load(b);
    x.lo = Op::apply(x.lo, y.lo);
    x.hi = Op::apply(x.hi, y.hi);
  }
  if constexpr (kDivide) {
    x.lo = _mm256_div_ps(x.lo, divisor);
    x.hi = _mm256_div_ps(x.hi, divisor);
  }
  // Through vdivps or the operation itself, or passed through by Max/Min.
  constexpr bool kArithmetic = kDivide || (kBinary && Op::kArithmetic);
  Fmt::template store<kArithmetic>(out, x);
}

constexpr std::size_t kStep = 16;  // elements per step

// The kernel (HalfKernel): two steps per iteration, then one, then the tail.
template <class Fmt, class Op, bool kBinary, bool kDivide>
COLOSSUS_X86_TARGET void kernel(const void* a, const void* b, void* out, std::size_t n,
                                int divisor) {
  const auto* pa = static_cast<const unsigned char*>(a);
  const auto* pb = static_cast<const unsigned char*>(kBinary ? b : a);  // never null
  auto* po = static_cast<unsigned char*>(out);
  const __m256 d = _mm256_set1_ps(static_cast<float>(divisor));  // as FuncDivide<float>
  constexpr std::size_t kBytes = kStep * Fmt::kSize;             // per step
  std::size_t i = 0;                                             // in bytes
  const std::size_t bytes = Fmt::kSize * n;
  for (; i + 2 * kBytes <= bytes; i += 2 * kBytes) {
    step<Fmt, Op, kBinary, kDivide>(pa + i, pb + i, po + i, d);
    step<Fmt, Op, kBinary, kDivide>(pa + i + kBytes, pb + i + kBytes, po + i + kBytes, d);
  }
  if (i + kBytes <= bytes) {
    step<Fmt, Op, kBinary, kDivide>(pa + i, pb + i, po + i, d);
    i += kBytes;
  }
  if (i == bytes) return;
  // The last n % 16 elements, zero-padded to a step: the same arithmetic as
  // the loop (padding lanes compute 0 op 0 and are not written back).
  alignas(32) unsigned char ta[kBytes] = {}, tb[kBytes] = {}, to[kBytes];
  std::memcpy(ta, pa + i, bytes - i);
  if constexpr (kBinary) std::memcpy(tb, pb + i, bytes - i);
  step<Fmt, Op, kBinary, kDivide>(ta, tb, to, d);
  std::memcpy(po + i, to, bytes - i);
}

template <class Fmt, class Op>
HalfKernel binary_kernel(bool divide) {
  return divide ? &kernel<Fmt, Op, true, true> : &kernel<Fmt, Op, true, false>;
}

template <class Fmt>
HalfKernel format_kernel(const ReduceCopyArgs& args) {
  const bool divide = args.divisor > 1;
  if (args.in1 == nullptr) return divide ? &kernel<Fmt, Sum, false, true> : nullptr;  // copy
  switch (args.op) {
    case ReduceOp::Sum:
    case ReduceOp::Avg: return binary_kernel<Fmt, Sum>(divide);
    case ReduceOp::Prod: return binary_kernel<Fmt, Prod>(divide);
    case ReduceOp::Max: return binary_kernel<Fmt, Max>(divide);
    case ReduceOp::Min: return binary_kernel<Fmt, Min>(divide);
  }
  return nullptr;
}

}  // namespace colossus::reduce::x86::impl
