// reduce_x86.cc: AVX2 + F16C loops for fp16 and bf16 reductions (see reduce_x86.hpp;
// the loop and the operations are in reduce_x86_impl.hpp, shared with fp8).
//
// Each kernel reads 16 elements (one 256-bit word) of each input, widens them
// to two vectors of 8 floats, combines, divides when asked, narrows and
// stores. The arithmetic is the portable path's, lane for lane, and the bits
// are the same except for which payload a sum or product of two NaNs keeps:
//   widen   fp16: vcvtph2ps, exact for every code (subnormals included; a
//           signalling NaN comes back quiet, which changes nothing below:
//           every float operation and every narrowing sets the quiet bit).
//           bf16: a shift to the high half, exactly bf16_to_float.
//   combine the same IEEE float operation as functors.hpp. Max/Min:
//           `(a > b || a != a) ? a : b` as compare masks and a blend. Sum and
//           Prod of two NaNs: in0's NaN (see add_first), where the portable
//           loops return either operand's, depending on the element's place.
//           No multiply feeds an add, so there is nothing to contract to FMA
//           (and the target does not include FMA).
//   divide  vdivps by (float)divisor, FuncDivide<float>'s division.
//   narrow  fp16: vcvtps2ph with round-to-nearest-even; it rounds finite
//           values, subnormals and overflow exactly as float_to_half, and
//           turns a NaN into sign | 0x7e00 | the top payload bits, which is
//           float_to_half's NaN rule. bf16: float_to_bf16 in integer lanes.
// The tail (n % 16 elements) goes through the same code on a stack copy.
#include "reduce/reduce_x86.hpp"

#include <atomic>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define COLOSSUS_X86_HALF_KERNELS 1
#include "reduce/reduce_x86_impl.hpp"
#endif

namespace colossus::reduce::x86 {

#if defined(COLOSSUS_X86_HALF_KERNELS)
namespace {

using namespace impl;  // NOLINT: the shared loop and operations

// fp16: elements 0-7 in lo, 8-15 in hi, converted by F16C straight from and
// to memory (16-byte halves: no lane shuffles).
struct Fp16 {
  static constexpr std::size_t kSize = 2;
  COLOSSUS_X86_INLINE static Floats16 load(const unsigned char* p) {
    return {_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))),
            _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16)))};
  }
  template <bool kArithmetic>  // (unused: vcvtps2ph handles every NaN)
  COLOSSUS_X86_INLINE static void store(unsigned char* p, Floats16 f) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p),
                     _mm256_cvtps_ph(f.lo, _MM_FROUND_TO_NEAREST_INT));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p + 16),
                     _mm256_cvtps_ph(f.hi, _MM_FROUND_TO_NEAREST_INT));
  }
};

// bf16: each 32-bit word holds two elements; the low halves (even elements)
// go to lo, the high halves (odd elements) to hi. Widening is moving the
// element into the high 16 bits of a float, as bf16_to_float does.
struct Bf16 {
  static constexpr std::size_t kSize = 2;
  COLOSSUS_X86_INLINE static Floats16 load(const unsigned char* p) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    return {_mm256_castsi256_ps(_mm256_slli_epi32(v, 16)),
            _mm256_castsi256_ps(_mm256_and_si256(v, _mm256_set1_epi32(-65536)))};
  }
  // float_to_bf16 on 8 lanes; the bf16 code ends up in each lane's high half
  // (the low half is junk). Round to nearest even by adding 0x7fff plus the
  // kept lsb; a NaN keeps its top payload bits and gets the quiet bit, 0x0040
  // of the code (float_to_bf16 tests |u| > inf bits; an unordered compare of
  // the float with itself is the same test).
  // kArithmetic: f came out of vaddps, vmulps or vdivps on widened bf16
  // values. A NaN from those is quiet and its low 16 bits are zero (an input's
  // NaN, quieted, or the default NaN 0xffc00000), so the rounding add cannot
  // carry out of them and already gives float_to_bf16's NaN code: the NaN
  // select is skipped. (Max and Min pass an input through unquieted.)
  template <bool kArithmetic>
  COLOSSUS_X86_INLINE static __m256i round(__m256 f) {
    const __m256i u = _mm256_castps_si256(f);
    const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
    const __m256i rounded = _mm256_add_epi32(_mm256_add_epi32(u, _mm256_set1_epi32(0x7fff)), lsb);
    if constexpr (kArithmetic) return rounded;
    const __m256i nan = _mm256_or_si256(u, _mm256_set1_epi32(0x00400000));
    const __m256i is_nan = _mm256_castps_si256(_mm256_cmp_ps(f, f, _CMP_UNORD_Q));
    return _mm256_blendv_epi8(rounded, nan, is_nan);
  }
  template <bool kArithmetic>
  COLOSSUS_X86_INLINE static void store(unsigned char* p, Floats16 f) {
    // Even elements: high half moved down; odd elements: 16-bit lanes 1, 3, 5, 7.
    const __m256i v = _mm256_blend_epi16(_mm256_srli_epi32(round<kArithmetic>(f.lo), 16),
                                         round<kArithmetic>(f.hi), 0xAA);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v);
  }
};
}  // namespace

bool half_kernels_available() {
  // libgcc / compiler-rt report AVX2 only where the OS enables the YMM state.
  static const bool available = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c");
  }();
  return available;
}

namespace {
std::atomic<bool> avx512_enabled{true};  // off only in tests (set_avx512_enabled)
}  // namespace

bool avx512_kernels_available() {
  // As for AVX2: reported only where the OS saves the ZMM and mask registers.
  static const bool available = [] {
    __builtin_cpu_init();
    return half_kernels_available() && __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
  }();
  return available && avx512_enabled.load(std::memory_order_relaxed);
}
void set_avx512_enabled(bool enabled) { avx512_enabled.store(enabled); }

HalfKernel half_kernel(const ReduceCopyArgs& args) {
  if (!half_kernels_available()) return nullptr;
  switch (args.dtype) {
    case DataType::Float16: return format_kernel<Fp16>(args);
    case DataType::Bfloat16: return format_kernel<Bf16>(args);
    case DataType::Float8e4m3:
    case DataType::Float8e5m2: return fp8_kernel(args);
    default: return nullptr;
  }
}

#else  // no x86-64 kernels in this build

bool half_kernels_available() { return false; }
bool avx512_kernels_available() { return false; }
void set_avx512_enabled(bool) {}
HalfKernel half_kernel(const ReduceCopyArgs&) { return nullptr; }

#endif

}  // namespace colossus::reduce::x86
