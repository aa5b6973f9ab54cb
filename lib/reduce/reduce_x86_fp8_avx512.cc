// reduce_x86_fp8_avx512.cc: the fp8 kernels of reduce_x86_fp8.cc on AVX-512
// (F, BW, VL), chosen at run time before them where the CPU has it.
//
// The same arithmetic, lane for lane, and so the same bits (the AVX2 file's
// comments hold here): 16 elements per 512-bit vector, compares into mask
// registers instead of blends, vpmovdb to narrow 32-bit codes to bytes, and
// masked byte loads and stores for the tail instead of a stack copy.
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "reduce/float_convert.hpp"
#include "reduce/reduce_x86.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include "reduce/reduce_x86_impl.hpp"

// GCC 12 warns that the _mm512_undefined_*() inside its own intrinsics "may
// be used uninitialized" (GCC bug 105593); nothing here reads undefined lanes.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace colossus::reduce::x86::impl {
namespace {

#define COLOSSUS_X86_512 "avx512f,avx512bw,avx512vl,avx2,f16c"
#define COLOSSUS_X86_512_INLINE __attribute__((target(COLOSSUS_X86_512), always_inline)) inline

// e4m3 comes back as value * 2^-8 (the fp16 bits of Fp8::e4m3_as_half,
// without the multiply back): to_code takes the scale instead (kScaled).
template <class F>
COLOSSUS_X86_512_INLINE __m512 load(__mmask16 k, const unsigned char* p) {
  // Each byte moved to the high half of a 16-bit lane: e5m2 as fp16.
  const __m256i c = _mm256_slli_epi16(_mm256_cvtepu8_epi16(_mm_maskz_loadu_epi8(k, p)), 8);
  if constexpr (F::kHasInf) {
    return _mm512_cvtph_ps(c);
  } else {
    const __m256i h = _mm256_and_si256(_mm256_srai_epi16(c, 1), _mm256_set1_epi16(-0x4080));
    // h | ((h + 0x80) & 0x4000): the NaN fix.
    return _mm512_cvtph_ps(_mm256_ternarylogic_epi32(
        h, _mm256_add_epi16(h, _mm256_set1_epi16(0x80)), _mm256_set1_epi16(0x4000), 0xf8));
  }
}

// round_to_code and to_code of reduce_x86_fp8.cc on 16 lanes, for f = the
// value * 2^-kScaled. Scaling by a power of two changes no rounding here:
// every scaled value, sum, product and quotient stays a normal fp32 (the
// smallest, a product of two e4m3 subnormals over 7, is about 2^-37), so
// the fp32 operations round the same bits, and the constants below move the
// exponent back (kRebias) and the thresholds down by the scale.
template <class F, int kScaled>
COLOSSUS_X86_512_INLINE __m128i to_code(__m512 f) {
  using K = detail::FormatConstants<F>;
  constexpr std::uint32_t kRebias = K::kRebias - kScaled;
  constexpr std::uint32_t kMinNormalF32 = K::kMinNormalF32 - (kScaled << 23);
  const __m512i u = _mm512_castps_si512(f);
  const __m512i a = _mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff));
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(a, K::kShift), _mm512_set1_epi32(1));
  constexpr std::uint32_t kBiasAdd = ((1u << (K::kShift - 1)) - 1) - (kRebias << 23);
  const __m512i normal = _mm512_srli_epi32(
      _mm512_add_epi32(_mm512_add_epi32(a, _mm512_set1_epi32(static_cast<int>(kBiasAdd))), lsb),
      K::kShift);
  constexpr float kMagic = detail::exp2i(24 - K::kBias - F::kManBits - kScaled);
  const __m512i subnormal = _mm512_sub_epi32(
      _mm512_castps_si512(_mm512_add_ps(_mm512_castsi512_ps(a), _mm512_set1_ps(kMagic))),
      _mm512_castps_si512(_mm512_set1_ps(kMagic)));
  const __mmask16 is_sub =
      _mm512_cmplt_epi32_mask(a, _mm512_set1_epi32(static_cast<int>(kMinNormalF32)));
  __m512i r = _mm512_mask_blend_epi32(is_sub, normal, subnormal);
  r = _mm512_min_epu32(r, _mm512_set1_epi32(F::kMaxFinite));
  if constexpr (F::kHasInf) {
    const __mmask16 special = _mm512_cmpgt_epi32_mask(a, _mm512_set1_epi32(0x7f7fffff));
    r = _mm512_mask_sub_epi32(r, special, _mm512_srli_epi32(a, K::kShift),
                              _mm512_set1_epi32((0xffu << 2) - 0x7c));
  } else {
    const __mmask16 nan = _mm512_cmpgt_epi32_mask(a, _mm512_set1_epi32(0x7f800000));
    r = _mm512_mask_mov_epi32(r, nan, _mm512_set1_epi32(0x7f));
  }
  // r | (u >> 24 & 0x80): the sign.
  r = _mm512_ternarylogic_epi32(r, _mm512_srli_epi32(u, 24), _mm512_set1_epi32(0x80), 0xf8);
  return _mm512_cvtepi32_epi8(r);
}

COLOSSUS_X86_512_INLINE __m512 add_first(__m512 a, __m512 b) {
  __m512 r;  // in0's NaN for two NaNs, as impl::add_first
  asm("vaddps %[b], %[a], %[r]" : [r] "=v"(r) : [a] "v"(a), [b] "vm"(b));
  return r;
}
COLOSSUS_X86_512_INLINE __m512 mul_first(__m512 a, __m512 b) {
  __m512 r;
  asm("vmulps %[b], %[a], %[r]" : [r] "=v"(r) : [a] "v"(a), [b] "vm"(b));
  return r;
}

template <class Op>
COLOSSUS_X86_512_INLINE __m512 apply(__m512 a, __m512 b) {
  if constexpr (std::is_same_v<Op, Sum>) {
    return add_first(a, b);
  } else if constexpr (std::is_same_v<Op, Prod>) {
    return mul_first(a, b);
  } else {  // Max / Min (reduce_x86_impl.hpp): a when a > b (a < b) or a is NaN, else b.
    const __mmask16 take_a =
        _mm512_cmp_ps_mask(a, b, Op::kCmp) | _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q);
    return _mm512_mask_blend_ps(take_a, b, a);
  }
}

// 16 elements, k selecting those that exist (read before written: out may be a or b).
template <class F, class Op, bool kBinary, bool kDivide>
COLOSSUS_X86_512_INLINE void step(__mmask16 k, const unsigned char* a, const unsigned char* b,
                                  unsigned char* out, __m512 divisor) {
  __m512 x = load<F>(k, a);
  if constexpr (kBinary) x = apply<Op>(x, load<F>(k, b));
  if constexpr (kDivide) x = _mm512_div_ps(x, divisor);
  // e4m3 loads are scaled by 2^-8; a product of two by 2^-16.
  constexpr int kScaled = F::kHasInf ? 0 : (kBinary && std::is_same_v<Op, Prod> ? 16 : 8);
  _mm_mask_storeu_epi8(out, k, to_code<F, kScaled>(x));
}

template <class F, class Op, bool kBinary, bool kDivide>
__attribute__((target(COLOSSUS_X86_512))) void kernel512(const void* a, const void* b, void* out,
                                                         std::size_t n, int divisor) {
  const auto* pa = static_cast<const unsigned char*>(a);
  const auto* pb = static_cast<const unsigned char*>(kBinary ? b : a);  // never null
  auto* po = static_cast<unsigned char*>(out);
  const __m512 d = _mm512_set1_ps(static_cast<float>(divisor));
  std::size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    step<F, Op, kBinary, kDivide>(0xffff, pa + i, pb + i, po + i, d);
    step<F, Op, kBinary, kDivide>(0xffff, pa + i + 16, pb + i + 16, po + i + 16, d);
  }
  for (; i < n; i += 16) {
    const std::size_t left = n - i;
    const auto k = static_cast<__mmask16>(left >= 16 ? 0xffff : (1u << left) - 1);
    step<F, Op, kBinary, kDivide>(k, pa + i, pb + i, po + i, d);
  }
}

template <class F, class Op>
HalfKernel binary512(bool divide) {
  return divide ? &kernel512<F, Op, true, true> : &kernel512<F, Op, true, false>;
}

template <class F>
HalfKernel format512(const ReduceCopyArgs& args) {
  const bool divide = args.divisor > 1;
  if (args.in1 == nullptr) return divide ? &kernel512<F, Sum, false, true> : nullptr;
  switch (args.op) {
    case ReduceOp::Sum:
    case ReduceOp::Avg: return binary512<F, Sum>(divide);
    case ReduceOp::Prod: return binary512<F, Prod>(divide);
    case ReduceOp::Max: return binary512<F, Max>(divide);
    case ReduceOp::Min: return binary512<F, Min>(divide);
  }
  return nullptr;
}

}  // namespace

HalfKernel fp8_kernel_avx512(const ReduceCopyArgs& args) {
  switch (args.dtype) {
    case DataType::Float8e4m3: return format512<detail::E4M3Format>(args);
    case DataType::Float8e5m2: return format512<detail::E5M2Format>(args);
    default: return nullptr;
  }
}

}  // namespace colossus::reduce::x86::impl

#endif
