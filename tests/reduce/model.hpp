// model.hpp: the reduction tests' per-dtype reference (reduce_test.cc, scale_test.cc).
//
// Model<T>: random inputs of T (NaN, infinities, zeros, subnormals, huge
// values for the wide floats; every bit pattern for fp16, bf16 and fp8), and
// expect(op, x, y, divisor): the result computed in double (floats, decoded
// by reference.hpp for the narrow formats) or 64-bit integers and rounded
// once to T; matches() compares a result with it (any NaN matches a NaN).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <type_traits>

#include "colossus/types.hpp"
#include "reduce/float_convert.hpp"
#include "reduce/reference.hpp"

namespace colossus::reduce::testing {

// Per dtype: how to make inputs, and how the reference sees and rounds values.
template <class T>
struct Model;

template <class T>
requires std::is_integral_v<T>
struct Model<T> {
  static T random(std::mt19937_64& rng) { return static_cast<T>(rng()); }
  // Wraps like two's complement; divides the wrapped value, truncating.
  static T expect(ReduceOp op, T x, T y, int divisor) {
    const auto ux = static_cast<std::uint64_t>(x), uy = static_cast<std::uint64_t>(y);
    T r = op == ReduceOp::Prod  ? static_cast<T>(ux * uy)
          : op == ReduceOp::Max ? (x > y ? x : y)
          : op == ReduceOp::Min ? (x < y ? x : y)
                                : static_cast<T>(ux + uy);
    if (divisor > 1) {
      r = std::is_signed_v<T> ? static_cast<T>(static_cast<std::int64_t>(r) / divisor)
                              : static_cast<T>(static_cast<std::uint64_t>(r) / divisor);
    }
    return r;
  }
  static T scale(T x, int divisor) { return expect(ReduceOp::Max, x, x, divisor); }
  static bool matches(T got, T want) { return got == want; }
};

// Float reference: decode to double, one op in double, round once to T.
inline double ref_op(ReduceOp op, double x, double y) {
  switch (op) {
    case ReduceOp::Prod: return x * y;
    case ReduceOp::Max: return (x > y || std::isnan(x)) ? x : y;
    case ReduceOp::Min: return (x < y || std::isnan(x)) ? x : y;
    default: return x + y;
  }
}

template <class T>
requires std::is_floating_point_v<T>
struct Model<T> {
  static T random(std::mt19937_64& rng) {
    const std::uint64_t r = rng();
    switch (r % 16) {
      case 0: return std::numeric_limits<T>::quiet_NaN();
      case 1:
        return (r & 16) ? std::numeric_limits<T>::infinity() : -std::numeric_limits<T>::infinity();
      case 2: return (r & 16) ? T(0) : -T(0);
      case 3: return std::numeric_limits<T>::denorm_min() * static_cast<T>(r >> 40);
      case 4: return std::numeric_limits<T>::max() / static_cast<T>((r >> 40) % 4 + 1);
      default:
        return static_cast<T>(std::ldexp(static_cast<double>(r >> 11), -53 - int(r % 64) + 32)) *
               ((r & 32) ? 1 : -1);
    }
  }
  // Avg: the sum is rounded to T first (it may overflow there), then divided.
  static T expect(ReduceOp op, T x, T y, int divisor) {
    const double r = ref_op(op, x, y);
    return static_cast<T>(divisor > 1 ? static_cast<T>(r) / double(divisor) : r);
  }
  static T scale(T x, int divisor) { return static_cast<T>(static_cast<double>(x) / divisor); }
  // Any NaN matches a NaN (payloads are the FPU's business); zeros match with their sign.
  static bool matches(T got, T want) {
    if (std::isnan(want)) return std::isnan(got);
    return got == want && std::signbit(got) == std::signbit(want);
  }
};

template <class T, const RefFormat& kFormat>
struct NarrowModel {
  static const RefCodec& codec() {
    static const RefCodec c(kFormat);
    return c;
  }
  static T random(std::mt19937_64& rng) { return T{static_cast<decltype(T::bits)>(rng())}; }
  static T expect(ReduceOp op, T x, T y, int divisor) {
    // Avg: the sum is rounded to the fp32 compute type first, then divided.
    const double r = ref_op(op, codec().decode(x.bits), codec().decode(y.bits));
    const double q = divisor > 1 ? static_cast<float>(r) / double(divisor) : r;
    return T{static_cast<decltype(T::bits)>(codec().encode(q))};
  }
  static T scale(T x, int divisor) {
    return T{static_cast<decltype(T::bits)>(codec().encode(codec().decode(x.bits) / divisor))};
  }
  static bool matches(T got, T want) {
    if (codec().is_nan(want.bits)) return codec().is_nan(got.bits);
    return got.bits == want.bits;
  }
};
template <>
struct Model<Half> : NarrowModel<Half, kRefFp16> {};
template <>
struct Model<BFloat16> : NarrowModel<BFloat16, kRefBf16> {};
template <>
struct Model<Float8E4M3> : NarrowModel<Float8E4M3, kRefE4M3> {};
template <>
struct Model<Float8E5M2> : NarrowModel<Float8E5M2, kRefE5M2> {};

}  // namespace colossus::reduce::testing
