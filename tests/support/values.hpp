// values.hpp: reading and writing elements of any DataType as double, and
// the precision facts the tests derive their tolerances from.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "colossus/types.hpp"
#include "reduce/float_convert.hpp"

namespace colossus::test {

inline bool is_signed_int(DataType t) {
  return t == DataType::Int8 || t == DataType::Int32 || t == DataType::Int64;
}

// Element i of a buffer of type t, exactly, as double.
inline double load(DataType t, const void* base, std::size_t i) {
  using namespace colossus::reduce;
  switch (t) {
    case DataType::Int8: return static_cast<const int8_t*>(base)[i];
    case DataType::Uint8: return static_cast<const uint8_t*>(base)[i];
    case DataType::Int32: return static_cast<const int32_t*>(base)[i];
    case DataType::Uint32: return static_cast<const uint32_t*>(base)[i];
    case DataType::Int64: return static_cast<double>(static_cast<const int64_t*>(base)[i]);
    case DataType::Uint64: return static_cast<double>(static_cast<const uint64_t*>(base)[i]);
    case DataType::Float16: return half_to_float(static_cast<const Half*>(base)[i]);
    case DataType::Float32: return static_cast<const float*>(base)[i];
    case DataType::Float64: return static_cast<const double*>(base)[i];
    case DataType::Bfloat16: return bf16_to_float(static_cast<const BFloat16*>(base)[i]);
    case DataType::Float8e4m3: return e4m3_to_float(static_cast<const Float8E4M3*>(base)[i]);
    case DataType::Float8e5m2: return e5m2_to_float(static_cast<const Float8E5M2*>(base)[i]);
  }
  return NAN;
}

// Stores v into element i, rounding floats to nearest even and wrapping
// integers modulo 2^bits (as the library's integer arithmetic does).
inline void store(DataType t, void* base, std::size_t i, double v) {
  using namespace colossus::reduce;
  const auto wrap = [&]() -> uint64_t {
    return v < 0 ? static_cast<uint64_t>(static_cast<int64_t>(v)) : static_cast<uint64_t>(v);
  };
  switch (t) {
    case DataType::Int8: static_cast<int8_t*>(base)[i] = static_cast<int8_t>(wrap()); return;
    case DataType::Uint8: static_cast<uint8_t*>(base)[i] = static_cast<uint8_t>(wrap()); return;
    case DataType::Int32: static_cast<int32_t*>(base)[i] = static_cast<int32_t>(wrap()); return;
    case DataType::Uint32: static_cast<uint32_t*>(base)[i] = static_cast<uint32_t>(wrap()); return;
    case DataType::Int64: static_cast<int64_t*>(base)[i] = static_cast<int64_t>(wrap()); return;
    case DataType::Uint64: static_cast<uint64_t*>(base)[i] = wrap(); return;
    case DataType::Float16:
      static_cast<Half*>(base)[i] = float_to_half(static_cast<float>(v));
      return;
    case DataType::Float32: static_cast<float*>(base)[i] = static_cast<float>(v); return;
    case DataType::Float64: static_cast<double*>(base)[i] = v; return;
    case DataType::Bfloat16:
      static_cast<BFloat16*>(base)[i] = float_to_bf16(static_cast<float>(v));
      return;
    case DataType::Float8e4m3:
      static_cast<Float8E4M3*>(base)[i] = float_to_e4m3(static_cast<float>(v));
      return;
    case DataType::Float8e5m2:
      static_cast<Float8E5M2*>(base)[i] = float_to_e5m2(static_cast<float>(v));
      return;
  }
}

// Unit roundoff 2^-p (p = significand bits, hidden bit included).
inline double unit_roundoff(DataType t) {
  switch (t) {
    case DataType::Float16: return std::ldexp(1.0, -11);
    case DataType::Bfloat16: return std::ldexp(1.0, -8);
    case DataType::Float32: return std::ldexp(1.0, -24);
    case DataType::Float64: return std::ldexp(1.0, -53);
    case DataType::Float8e4m3: return std::ldexp(1.0, -4);
    case DataType::Float8e5m2: return std::ldexp(1.0, -3);
    default: return 0;
  }
}

// Smallest positive subnormal: the absolute error floor of one rounding.
inline double min_subnormal(DataType t) {
  switch (t) {
    case DataType::Float16: return std::ldexp(1.0, -24);
    case DataType::Bfloat16: return std::ldexp(1.0, -133);
    case DataType::Float32: return std::ldexp(1.0, -149);
    case DataType::Float64: return std::ldexp(1.0, -1074);
    case DataType::Float8e4m3: return std::ldexp(1.0, -9);
    case DataType::Float8e5m2: return std::ldexp(1.0, -16);
    default: return 0;
  }
}

}  // namespace colossus::test
