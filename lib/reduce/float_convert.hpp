// float_convert.hpp: bit-exact conversions between fp32 and the narrow float formats.
//
// Storage types are plain bit wrappers so host code needs no CUDA headers.
// Widening (narrow -> fp32) is exact. Narrowing (fp32 -> narrow) rounds to
// nearest, ties to even. Both are branch-free (selects, shifts, one float add
// or multiply) so that GCC vectorizes loops over them with plain SSE2, and
// neither produces or consumes an fp32 subnormal where the narrow value is not
// one, so results do not change when a caller flushes denormals (FTZ/DAZ).
// The current rounding mode must be the default (nearest-even), and these
// must not be built with -ffast-math (it folds away the NaN tests).
//
// Top of the range, by format:
//   fp16, bf16   IEEE: overflow rounds to +-inf, inf stays inf.
//   fp8 e5m2     finite overflow saturates to +-57344 (CUDA's __NV_SATFINITE,
//                which NCCL's __nv_fp8_e5m2 uses), but +-inf stays +-inf: the
//                reduce contract preserves infinities and e5m2 can hold them.
//                (SATFINITE itself would map inf to 57344 too.)
//   fp8 e4m3     OCP E4M3FN has no inf: finite overflow and +-inf saturate to
//                +-448, exactly as __NV_SATFINITE does.
// NaN stays NaN, sign kept: fp16, bf16 and e5m2 keep the top payload bits and
// set the quiet bit; e4m3 has one NaN per sign, S.1111.111.
#pragma once

#include <cstdint>
#include <cstring>

#include "base/hd.hpp"

namespace colossus::reduce {

struct Half {
  std::uint16_t bits;
};
struct BFloat16 {
  std::uint16_t bits;
};
struct Float8E4M3 {
  std::uint8_t bits;
};
struct Float8E5M2 {
  std::uint8_t bits;
};

namespace detail {

COLOSSUS_HD_INLINE std::uint32_t float_to_bits(float f) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(f);
#else
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
#endif
}

COLOSSUS_HD_INLINE float bits_to_float(std::uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
#endif
}

// c ? x : y as mask arithmetic. Plain ?: lets the compiler sink the float add
// or multiply feeding one side into a branch, and a float op that may raise an
// FP exception is then not if-converted back (-ftrapping-math), which stops
// vectorization. Masks keep every lane computing every candidate.
COLOSSUS_HD_INLINE std::uint32_t select(bool c, std::uint32_t x, std::uint32_t y) {
  const std::uint32_t m = 0u - static_cast<std::uint32_t>(c);
  return (x & m) | (y & ~m);
}

// a < b for values below 2^31. SSE2 compares only signed 32-bit lanes; an
// unsigned compare costs two extra flips per vector.
COLOSSUS_HD_INLINE bool less(std::uint32_t a, std::uint32_t b) {
  return static_cast<std::int32_t>(a) < static_cast<std::int32_t>(b);
}

// 2^e as a float, exactly, at compile time (|e| small enough to stay normal).
COLOSSUS_HD constexpr float exp2i(int e) {
  float r = 1.0f;
  for (; e > 0; --e) r *= 2.0f;
  for (; e < 0; ++e) r *= 0.5f;
  return r;
}

// A narrow binary float: sign, kExpBits exponent bits (IEEE bias), kManBits
// mantissa bits. kHasInf: the all-ones exponent holds inf and NaNs (IEEE);
// otherwise only the all-ones code is NaN (E4M3FN). kOverflow: the code that
// finite values beyond the largest finite one become; kInf: the code for inf.
struct Fp16Format {
  static constexpr int kExpBits = 5, kManBits = 10;
  static constexpr bool kHasInf = true;
  static constexpr std::uint32_t kMaxFinite = 0x7bff, kOverflow = 0x7c00, kInf = 0x7c00;
};
struct E5M2Format {
  static constexpr int kExpBits = 5, kManBits = 2;
  static constexpr bool kHasInf = true;
  static constexpr std::uint32_t kMaxFinite = 0x7b, kOverflow = 0x7b, kInf = 0x7c;
};
struct E4M3Format {
  static constexpr int kExpBits = 4, kManBits = 3;
  static constexpr bool kHasInf = false;
  static constexpr std::uint32_t kMaxFinite = 0x7e, kOverflow = 0x7e, kInf = 0x7e;
};

template <class F>
struct FormatConstants {
  static constexpr int kBits = 1 + F::kExpBits + F::kManBits;
  static constexpr int kBias = (1 << (F::kExpBits - 1)) - 1;
  static constexpr int kShift = 23 - F::kManBits;  // fp32 mantissa bits dropped
  static constexpr std::uint32_t kSignBit = 1u << (kBits - 1);
  static constexpr std::uint32_t kAbsMask = kSignBit - 1;
  static constexpr std::uint32_t kMinNormal = 1u << F::kManBits;  // code of 2^(1-bias)
  static constexpr std::uint32_t kExpOnes = ((1u << F::kExpBits) - 1) << F::kManBits;
  // Smallest magnitude code that is inf or NaN.
  static constexpr std::uint32_t kFirstSpecial = F::kHasInf ? kExpOnes : kAbsMask;
  static constexpr std::uint32_t kRebias = static_cast<std::uint32_t>(127 - kBias);
  // fp32 bits of the smallest positive normal narrow value.
  static constexpr std::uint32_t kMinNormalF32 = (kRebias + 1) << 23;
};

template <class F>
COLOSSUS_HD_INLINE float narrow_to_float(std::uint32_t code) {
  using K = FormatConstants<F>;
  const std::uint32_t sign = (code & K::kSignBit) << (32 - K::kBits);
  const std::uint32_t mag = code & K::kAbsMask;
  const std::uint32_t normal = (mag << K::kShift) + (K::kRebias << 23);
  // Subnormal: mag * 2^(1 - bias - mantissa bits). Exact, and a normal fp32.
  const float subnormal =
      static_cast<float>(static_cast<std::int32_t>(mag)) * exp2i(1 - K::kBias - F::kManBits);
  // inf or NaN: all-ones fp32 exponent, payload moved up unchanged.
  const std::uint32_t special = (mag << K::kShift) | 0x7f800000u;
  const std::uint32_t finite = select(less(mag, K::kMinNormal), float_to_bits(subnormal), normal);
  const std::uint32_t r = select(less(mag, K::kFirstSpecial), finite, special);
  return bits_to_float(r | sign);
}

template <class F>
COLOSSUS_HD_INLINE std::uint32_t float_to_narrow(float x) {
  using K = FormatConstants<F>;
  const std::uint32_t u = float_to_bits(x);
  const std::uint32_t sign = (u >> 31) << (K::kBits - 1);
  const std::uint32_t a = u & 0x7fffffffu;
  // Normal result: add just under half an ulp, plus one when the kept lsb is
  // odd, and truncate: that is ties-to-even. A carry out of the mantissa bumps
  // the exponent, which is the right answer there too.
  const std::uint32_t rounded = a + ((1u << (K::kShift - 1)) - 1) + ((a >> K::kShift) & 1u);
  const std::uint32_t normal = (rounded >> K::kShift) - (K::kRebias << F::kManBits);
  // Subnormal result: adding a power of two whose ulp is the narrow format's
  // smallest subnormal makes the FPU round at exactly that bit (to nearest
  // even); the difference of the bit patterns is then the narrow code.
  constexpr float kMagic = exp2i(24 - K::kBias - F::kManBits);
  const std::uint32_t subnormal = float_to_bits(bits_to_float(a) + kMagic) - float_to_bits(kMagic);
  // (All of a, normal for a >= kMinNormalF32, and r are below 2^31.)
  std::uint32_t r = select(less(a, K::kMinNormalF32), subnormal, normal);
  r = select(less(F::kMaxFinite, r), F::kOverflow, r);  // inf lands here too
  const std::uint32_t nan = F::kHasInf ? K::kExpOnes | (1u << (F::kManBits - 1)) |
                                             ((a >> K::kShift) & (K::kMinNormal - 1))
                                       : K::kAbsMask;
  if constexpr (F::kInf != F::kOverflow) r = select(a == 0x7f800000u, F::kInf, r);
  r = select(less(0x7f800000u, a), nan, r);
  return r | sign;
}

}  // namespace detail

COLOSSUS_HD_INLINE float half_to_float(Half h) {
  return detail::narrow_to_float<detail::Fp16Format>(h.bits);
}
COLOSSUS_HD_INLINE Half float_to_half(float x) {
  return Half{static_cast<std::uint16_t>(detail::float_to_narrow<detail::Fp16Format>(x))};
}

COLOSSUS_HD_INLINE float e4m3_to_float(Float8E4M3 v) {
  return detail::narrow_to_float<detail::E4M3Format>(v.bits);
}
COLOSSUS_HD_INLINE Float8E4M3 float_to_e4m3(float x) {
  return Float8E4M3{static_cast<std::uint8_t>(detail::float_to_narrow<detail::E4M3Format>(x))};
}

COLOSSUS_HD_INLINE float e5m2_to_float(Float8E5M2 v) {
  return detail::narrow_to_float<detail::E5M2Format>(v.bits);
}
COLOSSUS_HD_INLINE Float8E5M2 float_to_e5m2(float x) {
  return Float8E5M2{static_cast<std::uint8_t>(detail::float_to_narrow<detail::E5M2Format>(x))};
}

// bf16 is the top half of an fp32, so it needs no rebias and no subnormal
// special case: widening is a shift, narrowing a rounding add.
COLOSSUS_HD_INLINE float bf16_to_float(BFloat16 v) {
  return detail::bits_to_float(static_cast<std::uint32_t>(v.bits) << 16);
}
COLOSSUS_HD_INLINE BFloat16 float_to_bf16(float x) {
  const std::uint32_t u = detail::float_to_bits(x);
  const std::uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
  const std::uint32_t nan = (u >> 16) | 0x40u;  // quiet, top payload bits kept
  const std::uint32_t r = detail::select(detail::less(0x7f800000u, u & 0x7fffffffu), nan, rounded);
  return BFloat16{static_cast<std::uint16_t>(r)};
}

}  // namespace colossus::reduce
