// functors.hpp: element-wise reduction arithmetic, shared by the CPU and CUDA kernels.
//
// A reduction of storage type T loads each element into ReduceTraits<T>::Compute,
// combines in that type with one of the functors below, optionally divides
// (Avg), and stores back:
//   fp16, bf16, fp8 -> float (fp32 accumulation, one rounding back to storage)
//   float, double   -> themselves
//   integers        -> themselves; Sum and Prod go through the unsigned type of
//                      the same width so that overflow wraps instead of being UB.
#pragma once

#include <cstdint>
#include <type_traits>

#include "base/hd.hpp"
#include "reduce/float_convert.hpp"

namespace colossus::reduce {

template <class T>
struct ReduceTraits {
  static_assert(std::is_arithmetic_v<T>, "no ReduceTraits for this storage type");
  using Compute = T;
  COLOSSUS_HD_INLINE static Compute load(T v) { return v; }
  COLOSSUS_HD_INLINE static T store(Compute v) { return v; }
};
template <>
struct ReduceTraits<Half> {
  using Compute = float;
  COLOSSUS_HD_INLINE static float load(Half v) { return half_to_float(v); }
  COLOSSUS_HD_INLINE static Half store(float v) { return float_to_half(v); }
};
template <>
struct ReduceTraits<BFloat16> {
  using Compute = float;
  COLOSSUS_HD_INLINE static float load(BFloat16 v) { return bf16_to_float(v); }
  COLOSSUS_HD_INLINE static BFloat16 store(float v) { return float_to_bf16(v); }
};
template <>
struct ReduceTraits<Float8E4M3> {
  using Compute = float;
  COLOSSUS_HD_INLINE static float load(Float8E4M3 v) { return e4m3_to_float(v); }
  COLOSSUS_HD_INLINE static Float8E4M3 store(float v) { return float_to_e4m3(v); }
};
template <>
struct ReduceTraits<Float8E5M2> {
  using Compute = float;
  COLOSSUS_HD_INLINE static float load(Float8E5M2 v) { return e5m2_to_float(v); }
  COLOSSUS_HD_INLINE static Float8E5M2 store(float v) { return float_to_e5m2(v); }
};

namespace detail {
// The unsigned type that integer arithmetic on C wraps in: at least
// `unsigned int`, so that uint8 * uint8 is not promoted to (signed) int.
template <class C>
using WrapType = std::common_type_t<std::make_unsigned_t<C>, unsigned int>;
}  // namespace detail

template <class C>
struct FuncSum {
  COLOSSUS_HD_INLINE C operator()(C a, C b) const {
    if constexpr (std::is_integral_v<C>) {
      using W = detail::WrapType<C>;
      return static_cast<C>(static_cast<W>(a) + static_cast<W>(b));  // modular since C++20
    } else {
      return a + b;
    }
  }
};

template <class C>
struct FuncProd {
  COLOSSUS_HD_INLINE C operator()(C a, C b) const {
    if constexpr (std::is_integral_v<C>) {
      using W = detail::WrapType<C>;
      return static_cast<C>(static_cast<W>(a) * static_cast<W>(b));
    } else {
      return a * b;
    }
  }
};

// Max and Min propagate NaN: if either operand is NaN the result is NaN (the
// first operand's when both are), unlike fmax/fmin, which drop it, so a NaN on
// any rank shows in the result as it does for Sum. Equal operands (+0 and -0
// included) give the second operand.
template <class C>
struct FuncMax {
  COLOSSUS_HD_INLINE C operator()(C a, C b) const {
    if constexpr (std::is_floating_point_v<C>) {
      return (a > b || a != a) ? a : b;
    } else {
      return a > b ? a : b;
    }
  }
};

template <class C>
struct FuncMin {
  COLOSSUS_HD_INLINE C operator()(C a, C b) const {
    if constexpr (std::is_floating_point_v<C>) {
      return (a < b || a != a) ? a : b;
    } else {
      return a < b ? a : b;
    }
  }
};

// The Avg finalizer: divides by the rank count. Floats divide in the compute
// type (true division, rounded once more when stored). Integers truncate
// toward zero; signed types divide the wrapped sum as a signed value. The
// divisor is held wider than int8/uint8 so that counts above 127 stay exact.
template <class C>
struct FuncDivide {
  using Divisor =
      std::conditional_t<std::is_floating_point_v<C>, C,
                         std::conditional_t<std::is_signed_v<C>, std::common_type_t<C, int>,
                                            std::common_type_t<C, unsigned int>>>;
  Divisor divisor;

  COLOSSUS_HD_INLINE explicit FuncDivide(int n) : divisor(static_cast<Divisor>(n)) {}
  COLOSSUS_HD_INLINE C operator()(C v) const { return static_cast<C>(v / divisor); }
};

// PreMulSum's scaling, the one place that multiplies an element by a scalar of
// its own dtype: in the compute type, as FuncProd does (integers wrap; fp16,
// bf16 and fp8 widen to fp32, where the product is exact, and round once to
// nearest even when stored; fp8 saturates as every fp8 store does).
template <class T>
struct FuncScale {
  using Traits = ReduceTraits<T>;
  using Compute = typename Traits::Compute;
  Compute scalar;

  COLOSSUS_HD_INLINE explicit FuncScale(T s) : scalar(Traits::load(s)) {}
  COLOSSUS_HD_INLINE T operator()(T x) const {
    return Traits::store(FuncProd<Compute>{}(Traits::load(x), scalar));
  }
};

}  // namespace colossus::reduce
