// reduce_x86_fp8.cc: AVX2 + F16C loops for fp8 (e4m3, e5m2) reductions.
//
// The same loop and operations as the fp16/bf16 kernels (reduce_x86_impl.hpp),
// 16 elements (16 bytes) per step, with the same bits as the portable path:
//   widen   e5m2 is the top byte of an fp16, so vcvtph2ps of the byte moved
//           up is exact (a signalling NaN comes back quiet: see below).
//           e4m3: sign | magnitude << 7 as fp16 bits is the value times
//           2^-8 (the exponent biases are 15 and 7), subnormals included
//           (fp16 subnormals, which vcvtph2ps widens exactly whatever DAZ
//           says); vcvtph2ps and a multiply by 2^8, both exact. The NaN
//           code S.1111.111 becomes fp16 0x7f80, a quiet NaN.
//   narrow  float_to_narrow in 32-bit integer lanes (see round_to_code).
// Every NaN reaching the narrowing is quiet (widening quiets, arithmetic
// quiets), where the portable path can pass a signalling one through Max or
// Min; float_to_narrow sets the quiet bit anyway, so the codes agree. As for
// fp16, a sum or product of two NaNs is in0's NaN (sign and, for e5m2, the
// payload bit), where the portable loops may pick either operand's.
#include <cstddef>
#include <cstdint>

#include "reduce/float_convert.hpp"
#include "reduce/reduce_x86.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include "reduce/reduce_x86_impl.hpp"

namespace colossus::reduce::x86::impl {
namespace {

// float_to_narrow<F> on 8 lanes, without the sign: the code of |f| in each
// 32-bit lane. The same steps with two shortcuts, both exact:
//   - the rebias is subtracted before the shift (a multiple of 2^shift, so
//     the truncation does not change; a below the normal range wraps, but
//     its lane takes the subnormal candidate);
//   - both fp8 formats saturate finite overflow to their largest finite
//     code (kOverflow == kMaxFinite), so one unsigned min clamps it; inf and
//     NaN are fixed afterwards.
template <class F>
COLOSSUS_X86_INLINE __m256i round_to_code(__m256 f) {
  using K = detail::FormatConstants<F>;
  static_assert(F::kOverflow == F::kMaxFinite);
  const __m256i a = _mm256_and_si256(_mm256_castps_si256(f), _mm256_set1_epi32(0x7fffffff));
  const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(a, K::kShift), _mm256_set1_epi32(1));
  constexpr std::uint32_t kBiasAdd = ((1u << (K::kShift - 1)) - 1) - (K::kRebias << 23);
  const __m256i normal = _mm256_srli_epi32(
      _mm256_add_epi32(_mm256_add_epi32(a, _mm256_set1_epi32(static_cast<int>(kBiasAdd))), lsb),
      K::kShift);
  // Subnormal: the FPU rounds at the smallest subnormal's bit (kMagic as in
  // float_to_narrow).
  constexpr float kMagic = detail::exp2i(24 - K::kBias - F::kManBits);
  const __m256i subnormal = _mm256_sub_epi32(
      _mm256_castps_si256(_mm256_add_ps(_mm256_castsi256_ps(a), _mm256_set1_ps(kMagic))),
      _mm256_castps_si256(_mm256_set1_ps(kMagic)));
  const __m256i is_sub =
      _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(K::kMinNormalF32)), a);
  __m256i r = _mm256_blendv_epi8(normal, subnormal, is_sub);
  r = _mm256_min_epu32(r, _mm256_set1_epi32(F::kMaxFinite));  // inf too, for e4m3
  if constexpr (F::kHasInf) {
    // e5m2, inf and NaN: the top bits moved down unrounded, 0x7c for inf and
    // 0x7e | fp32 bit 21 for a quiet NaN: float_to_narrow's codes.
    const __m256i special =
        _mm256_sub_epi32(_mm256_srli_epi32(a, K::kShift), _mm256_set1_epi32((0xffu << 2) - 0x7c));
    const __m256i is_special = _mm256_cmpgt_epi32(a, _mm256_set1_epi32(0x7f7fffff));
    r = _mm256_blendv_epi8(r, special, is_special);
  } else {
    // e4m3, NaN: 0x7f, and r is at most 0x7e, so an or sets it.
    const __m256i is_nan = _mm256_cmpgt_epi32(a, _mm256_set1_epi32(0x7f800000));
    r = _mm256_or_si256(r, _mm256_and_si256(is_nan, _mm256_set1_epi32(0x7f)));
  }
  return r;
}

// With the sign (bit 31 moved to bit 7).
template <class F>
COLOSSUS_X86_INLINE __m256i to_code(__m256 f) {
  const __m256i sign =
      _mm256_and_si256(_mm256_srli_epi32(_mm256_castps_si256(f), 24), _mm256_set1_epi32(0x80));
  return _mm256_or_si256(round_to_code<F>(f), sign);
}

// Elements 0-7 in lo, 8-15 in hi, both ways.
template <class F>
struct Fp8 {
  static constexpr std::size_t kSize = 1;
  COLOSSUS_X86_INLINE static Floats16 load(const unsigned char* p) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    // The byte in the high half of each 16-bit lane: e5m2 as fp16.
    __m128i lo = _mm_unpacklo_epi8(_mm_setzero_si128(), v);
    __m128i hi = _mm_unpackhi_epi8(_mm_setzero_si128(), v);
    if constexpr (F::kHasInf) {
      return {_mm256_cvtph_ps(lo), _mm256_cvtph_ps(hi)};
    } else {
      lo = e4m3_as_half(lo);
      hi = e4m3_as_half(hi);
      const __m256 scale = _mm256_set1_ps(256.0f);
      return {_mm256_mul_ps(_mm256_cvtph_ps(lo), scale), _mm256_mul_ps(_mm256_cvtph_ps(hi), scale)};
    }
  }
  // code << 8 -> fp16 bits of the value times 2^-8: an arithmetic shift
  // right by one keeps the sign and puts the magnitude at bit 7, the mask
  // clears the copied sign. Magnitude 0x7f gives 0x3f80, the only one that
  // carries into bit 14 when 0x80 is added: that bit or'ed in makes 0x7f80.
  COLOSSUS_X86_INLINE static __m128i e4m3_as_half(__m128i c) {
    const __m128i h = _mm_and_si128(_mm_srai_epi16(c, 1), _mm_set1_epi16(-0x4080));  // 0xbf80
    const __m128i nan =
        _mm_and_si128(_mm_add_epi16(h, _mm_set1_epi16(0x80)), _mm_set1_epi16(0x4000));
    return _mm_or_si128(h, nan);
  }
  template <bool kArithmetic>  // (unused: every NaN here is quiet already)
  COLOSSUS_X86_INLINE static void store(unsigned char* p, Floats16 f) {
    // Codes fit a byte, so the saturating packs only narrow. packus_epi32
    // interleaves 128-bit halves (lo 0-3, hi 0-3, lo 4-7, hi 4-7); vpermq
    // puts them back in order.
    const __m256i w =
        _mm256_permute4x64_epi64(_mm256_packus_epi32(to_code<F>(f.lo), to_code<F>(f.hi)), 0xd8);
    const __m128i b = _mm_packus_epi16(_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), b);
  }
};

}  // namespace

HalfKernel fp8_kernel(const ReduceCopyArgs& args) {
  if (avx512_kernels_available()) return fp8_kernel_avx512(args);
  switch (args.dtype) {
    case DataType::Float8e4m3: return format_kernel<Fp8<detail::E4M3Format>>(args);
    case DataType::Float8e5m2: return format_kernel<Fp8<detail::E5M2Format>>(args);
    default: return nullptr;
  }
}

}  // namespace colossus::reduce::x86::impl

#endif
