// reference.hpp: a slow, obviously-correct model of the narrow float formats.
//
// Written from the format definitions, not from float_convert.hpp's bit
// tricks: decoding is the textbook formula evaluated in double; encoding
// searches a sorted table of every finite value and rounds to the nearest,
// ties to the even code, then applies the format's overflow rule.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace colossus::reduce::testing {

struct RefFormat {
  int exp_bits;
  int man_bits;
  bool ieee_specials;    // all-ones exponent = inf/NaN (else only S.1111.111 is NaN)
  bool saturate_finite;  // finite overflow -> max finite (fp8, CUDA __NV_SATFINITE)
  bool inf_to_max;       // inf -> max finite (e4m3: there is no inf)
};
inline constexpr RefFormat kRefFp16{5, 10, true, false, false};
inline constexpr RefFormat kRefBf16{8, 7, true, false, false};
inline constexpr RefFormat kRefE4M3{4, 3, false, true, true};
inline constexpr RefFormat kRefE5M2{5, 2, true, true, false};

inline double ref_decode(const RefFormat& f, std::uint32_t code) {
  const int bias = (1 << (f.exp_bits - 1)) - 1;
  const std::uint32_t exp_ones = (1u << f.exp_bits) - 1, man_ones = (1u << f.man_bits) - 1;
  const bool negative = (code >> (f.exp_bits + f.man_bits)) & 1;
  const std::uint32_t e = (code >> f.man_bits) & exp_ones, m = code & man_ones;
  double mag;
  if (f.ieee_specials && e == exp_ones) {
    mag =
        m == 0 ? std::numeric_limits<double>::infinity() : std::numeric_limits<double>::quiet_NaN();
  } else if (!f.ieee_specials && e == exp_ones && m == man_ones) {
    mag = std::numeric_limits<double>::quiet_NaN();
  } else if (e == 0) {
    mag = std::ldexp(static_cast<double>(m), 1 - bias - f.man_bits);
  } else {
    mag = std::ldexp(static_cast<double>(m + (1u << f.man_bits)),
                     static_cast<int>(e) - bias - f.man_bits);
  }
  return negative ? -mag : mag;
}

class RefCodec {
 public:
  explicit RefCodec(const RefFormat& f) : f_(f) {
    const std::uint32_t sign_bit = 1u << (f.exp_bits + f.man_bits);
    for (std::uint32_t code = 0; code < sign_bit; ++code) {
      const double v = ref_decode(f, code);
      if (std::isfinite(v)) values_.push_back(v);  // codes 0..max_code, ascending
    }
    max_code_ = static_cast<std::uint32_t>(values_.size() - 1);
    const double max = values_.back();
    beyond_max_ = max + std::ldexp(1.0, std::ilogb(max) - f.man_bits);
  }

  const RefFormat& format() const { return f_; }
  std::uint32_t max_code() const { return max_code_; }
  std::uint32_t sign_bit() const { return 1u << (f_.exp_bits + f_.man_bits); }
  std::uint32_t inf_code() const { return max_code_ + 1; }  // meaningful when ieee_specials

  bool is_nan(std::uint32_t code) const { return std::isnan(ref_decode(f_, code)); }

  // Round to nearest, ties to even code, then the overflow rule. NaN maps to
  // some NaN code (callers compare NaN-ness, not payloads).
  std::uint32_t encode(double x) const {
    const std::uint32_t sign = std::signbit(x) ? sign_bit() : 0;
    if (std::isnan(x)) return sign | (sign_bit() - 1);
    const double a = std::fabs(x);
    std::uint32_t code;
    if (std::isinf(a)) {
      code = f_.inf_to_max ? max_code_ : inf_code();
    } else {
      const auto it = std::upper_bound(values_.begin(), values_.end(), a);
      const auto lo = static_cast<std::uint32_t>(it - values_.begin() - 1);
      const double lo_v = values_[lo];
      const double hi_v = lo + 1 <= max_code_ ? values_[lo + 1] : beyond_max_;
      const double mid = (lo_v + hi_v) / 2;  // exact: few significant bits
      code = a < mid ? lo : a > mid ? lo + 1 : (lo % 2 == 0 ? lo : lo + 1);
      if (code > max_code_) code = f_.saturate_finite ? max_code_ : inf_code();
    }
    return sign | code;
  }

  double decode(std::uint32_t code) const { return ref_decode(f_, code); }

  // Every finite value, ascending from +0.
  const std::vector<double>& positive_values() const { return values_; }

 private:
  RefFormat f_;
  std::vector<double> values_;
  std::uint32_t max_code_ = 0;
  double beyond_max_ = 0;
};

}  // namespace colossus::reduce::testing
