#include "perf/codec.hpp"

#include <cmath>
#include <cstring>
#include <limits>

namespace colossus::perf {

namespace {

// A binary floating-point format narrower than double: sign, `ebits`
// exponent bits, `mbits` mantissa bits. `ieee` formats reserve the top
// exponent for inf/NaN; e4m3 ("fn") uses it for numbers and keeps only
// mantissa all-ones as NaN.
struct MiniFloat {
  int ebits;
  int mbits;
  bool ieee;

  int bias() const { return (1 << (ebits - 1)) - 1; }
  uint32_t exp_all_ones() const { return (1u << ebits) - 1; }
  uint32_t max_finite_code() const {
    uint32_t top = exp_all_ones() << mbits;
    return ieee ? top - 1 : (top | ((1u << mbits) - 1)) - 1;
  }
  uint32_t inf_or_nan_code() const {
    return ieee ? exp_all_ones() << mbits : (exp_all_ones() << mbits) | ((1u << mbits) - 1);
  }
  uint32_t nan_code() const {
    return (exp_all_ones() << mbits) | (ieee ? 1u << (mbits - 1) : (1u << mbits) - 1);
  }
  uint32_t sign_bit() const { return 1u << (ebits + mbits); }

  uint32_t encode(double x) const {
    if (std::isnan(x)) return nan_code();
    uint32_t sign = std::signbit(x) ? sign_bit() : 0;
    double a = std::fabs(x);
    if (a == 0) return sign;
    int e2 = 0;
    std::frexp(a, &e2);  // a = f * 2^e2, f in [0.5, 1)
    int e = e2 - 1;      // a = 1.xxx * 2^e
    int emin = 1 - bias();
    uint64_t code;
    if (std::isinf(a) || e > bias() + 1) {
      code = uint64_t{max_finite_code()} + 1;
    } else if (e < emin) {
      // Subnormal: integer multiple of the smallest step; rounding up to
      // 2^mbits lands exactly on the smallest normal's code.
      code = static_cast<uint64_t>(std::nearbyint(std::ldexp(a, mbits - emin)));
    } else {
      // Normal: 2^mbits <= n <= 2^(mbits+1); a carry into the exponent is
      // handled by the addition.
      auto n = static_cast<uint64_t>(std::nearbyint(std::ldexp(a, mbits - e)));
      code = (uint64_t(e + bias()) << mbits) + (n - (uint64_t{1} << mbits));
    }
    if (code > max_finite_code()) return sign | inf_or_nan_code();
    return sign | static_cast<uint32_t>(code);
  }

  double decode(uint32_t code) const {
    bool neg = (code & sign_bit()) != 0;
    uint32_t e = (code >> mbits) & exp_all_ones();
    uint32_t m = code & ((1u << mbits) - 1);
    double v;
    if (e == 0) {
      v = std::ldexp(static_cast<double>(m), 1 - bias() - mbits);
    } else if (ieee && e == exp_all_ones()) {
      v = m == 0 ? std::numeric_limits<double>::infinity()
                 : std::numeric_limits<double>::quiet_NaN();
    } else if (!ieee && e == exp_all_ones() && m == (1u << mbits) - 1) {
      v = std::numeric_limits<double>::quiet_NaN();
    } else {
      v = std::ldexp(static_cast<double>(m | (1u << mbits)), static_cast<int>(e) - bias() - mbits);
    }
    return neg ? -v : v;
  }
};

constexpr MiniFloat kHalf{5, 10, true};
constexpr MiniFloat kBfloat16{8, 7, true};
constexpr MiniFloat kE4m3{4, 3, false};
constexpr MiniFloat kE5m2{5, 2, true};

template <typename T>
void store(T v, void* dst) {
  std::memcpy(dst, &v, sizeof v);
}
template <typename T>
T load(const void* src) {
  T v;
  std::memcpy(&v, src, sizeof v);
  return v;
}

// Integers: wrap through uint64 so out-of-range values behave as a
// two's-complement reduction would have left them.
uint64_t wrap(double v) { return static_cast<uint64_t>(static_cast<int64_t>(v)); }

}  // namespace

void encode(DataType type, double v, void* dst) {
  switch (type) {
    case DataType::Int8: store(static_cast<int8_t>(wrap(v)), dst); break;
    case DataType::Uint8: store(static_cast<uint8_t>(wrap(v)), dst); break;
    case DataType::Int32: store(static_cast<int32_t>(wrap(v)), dst); break;
    case DataType::Uint32: store(static_cast<uint32_t>(wrap(v)), dst); break;
    case DataType::Int64: store(static_cast<int64_t>(wrap(v)), dst); break;
    case DataType::Uint64: store(wrap(v), dst); break;
    case DataType::Float16: store(static_cast<uint16_t>(kHalf.encode(v)), dst); break;
    case DataType::Float32: store(static_cast<float>(v), dst); break;
    case DataType::Float64: store(v, dst); break;
    case DataType::Bfloat16: store(static_cast<uint16_t>(kBfloat16.encode(v)), dst); break;
    case DataType::Float8e4m3: store(static_cast<uint8_t>(kE4m3.encode(v)), dst); break;
    case DataType::Float8e5m2: store(static_cast<uint8_t>(kE5m2.encode(v)), dst); break;
  }
}

double decode(DataType type, const void* src) {
  switch (type) {
    case DataType::Int8: return load<int8_t>(src);
    case DataType::Uint8: return load<uint8_t>(src);
    case DataType::Int32: return load<int32_t>(src);
    case DataType::Uint32: return load<uint32_t>(src);
    case DataType::Int64: return static_cast<double>(load<int64_t>(src));
    case DataType::Uint64: return static_cast<double>(load<uint64_t>(src));
    case DataType::Float16: return kHalf.decode(load<uint16_t>(src));
    case DataType::Float32: return load<float>(src);
    case DataType::Float64: return load<double>(src);
    case DataType::Bfloat16: return kBfloat16.decode(load<uint16_t>(src));
    case DataType::Float8e4m3: return kE4m3.decode(load<uint8_t>(src));
    case DataType::Float8e5m2: return kE5m2.decode(load<uint8_t>(src));
  }
  return std::numeric_limits<double>::quiet_NaN();
}

double unit_roundoff(DataType type) {
  switch (type) {
    case DataType::Float16: return std::ldexp(1.0, -(kHalf.mbits + 1));
    case DataType::Bfloat16: return std::ldexp(1.0, -(kBfloat16.mbits + 1));
    case DataType::Float8e4m3: return std::ldexp(1.0, -(kE4m3.mbits + 1));
    case DataType::Float8e5m2: return std::ldexp(1.0, -(kE5m2.mbits + 1));
    case DataType::Float32: return std::ldexp(1.0, -24);
    case DataType::Float64: return std::ldexp(1.0, -53);
    default: return 0;
  }
}

double half_min_subnormal(DataType type) {
  auto f = [](const MiniFloat& m) { return std::ldexp(1.0, 1 - m.bias() - m.mbits - 1); };
  switch (type) {
    case DataType::Float16: return f(kHalf);
    case DataType::Bfloat16: return f(kBfloat16);
    case DataType::Float8e4m3: return f(kE4m3);
    case DataType::Float8e5m2: return f(kE5m2);
    case DataType::Float32: return std::numeric_limits<float>::denorm_min() / 2;
    default: return 0;  // float64 (no subnormal concern at these magnitudes), integers
  }
}

double exact_integer_limit(DataType type) {
  switch (type) {
    case DataType::Int8: return 127;
    case DataType::Uint8: return 255;
    case DataType::Int32: return 2147483647.0;
    case DataType::Uint32: return 4294967295.0;
    case DataType::Int64:
    case DataType::Uint64: return std::ldexp(1.0, 53);
    case DataType::Float16: return std::ldexp(1.0, kHalf.mbits + 1);
    case DataType::Bfloat16: return std::ldexp(1.0, kBfloat16.mbits + 1);
    case DataType::Float8e4m3: return std::ldexp(1.0, kE4m3.mbits + 1);
    case DataType::Float8e5m2: return std::ldexp(1.0, kE5m2.mbits + 1);
    case DataType::Float32: return std::ldexp(1.0, 24);
    case DataType::Float64: return std::ldexp(1.0, 53);
  }
  return 0;
}

bool is_signed(DataType type) {
  return !(type == DataType::Uint8 || type == DataType::Uint32 || type == DataType::Uint64);
}

}  // namespace colossus::perf
