// Tests for reduce/float_convert.hpp against the table-driven model in reference.hpp.
#include "reduce/float_convert.hpp"

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>
#include <string>

#include "catch.hpp"
#include "reduce/reference.hpp"

#if defined(__SSE2__)
#include <xmmintrin.h>
#endif

namespace colossus::reduce {
namespace {

using testing::RefCodec;

// One narrow format: its reference model and the two functions under test.
struct Format {
  const char* name;
  RefCodec ref;
  float (*widen)(std::uint32_t);
  std::uint32_t (*narrow)(float);
};

Format fp16() {
  return {"fp16", RefCodec(testing::kRefFp16),
          [](std::uint32_t c) { return half_to_float(Half{std::uint16_t(c)}); },
          [](float x) -> std::uint32_t { return float_to_half(x).bits; }};
}
Format bf16() {
  return {"bf16", RefCodec(testing::kRefBf16),
          [](std::uint32_t c) { return bf16_to_float(BFloat16{std::uint16_t(c)}); },
          [](float x) -> std::uint32_t { return float_to_bf16(x).bits; }};
}
Format e4m3() {
  return {"e4m3", RefCodec(testing::kRefE4M3),
          [](std::uint32_t c) { return e4m3_to_float(Float8E4M3{std::uint8_t(c)}); },
          [](float x) -> std::uint32_t { return float_to_e4m3(x).bits; }};
}
Format e5m2() {
  return {"e5m2", RefCodec(testing::kRefE5M2),
          [](std::uint32_t c) { return e5m2_to_float(Float8E5M2{std::uint8_t(c)}); },
          [](float x) -> std::uint32_t { return float_to_e5m2(x).bits; }};
}

float float_from_bits(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

std::string hex(std::uint32_t v) {
  std::ostringstream s;
  s << "0x" << std::hex << v;
  return s.str();
}

// Counts disagreements between narrow(x) and the reference; remembers the first.
struct NarrowCheck {
  explicit NarrowCheck(const Format& f) : fmt(f) {}
  const Format& fmt;
  long failures = 0;
  std::string first;

  void operator()(float x) {
    const std::uint32_t got = fmt.narrow(x);
    const std::uint32_t want = fmt.ref.encode(static_cast<double>(x));
    const bool ok = fmt.ref.is_nan(want) ? fmt.ref.is_nan(got) && (got & fmt.ref.sign_bit()) ==
                                                                      (want & fmt.ref.sign_bit())
                                         : got == want;
    if (!ok && failures++ == 0) {
      std::ostringstream s;
      s << fmt.name << ": narrow(" << x << " = " << hex(std::bit_cast<std::uint32_t>(x))
        << ") = " << hex(got) << ", want " << hex(want);
      first = s.str();
    }
  }
};

// Widening is exact for every code, and narrowing gives the code back (NaNs:
// still NaN, same sign; the payload may gain the quiet bit).
void check_all_codes(const Format& fmt) {
  const std::uint32_t n = fmt.ref.sign_bit() * 2;
  long failures = 0;
  std::string first;
  for (std::uint32_t code = 0; code < n; ++code) {
    const float f = fmt.widen(code);
    const double want = fmt.ref.decode(code);
    const std::uint32_t back = fmt.narrow(f);
    bool ok;
    if (std::isnan(want)) {
      ok = std::isnan(f) && std::signbit(f) == std::signbit(want) && fmt.ref.is_nan(back) &&
           (back & fmt.ref.sign_bit()) == (code & fmt.ref.sign_bit());
    } else {
      ok = static_cast<double>(f) == want && std::signbit(f) == std::signbit(want) && back == code;
    }
    if (!ok && failures++ == 0)
      first = fmt.name + std::string(": code ") + hex(code) + " -> " + hex(back);
  }
  INFO(first);
  CHECK(failures == 0);
}

TEST_CASE("every narrow code widens exactly and narrows back to itself", "[reduce][convert]") {
  for (const Format& fmt : {fp16(), bf16(), e4m3(), e5m2()}) check_all_codes(fmt);
}

TEST_CASE("narrowing rounds ties to even at every midpoint", "[reduce][convert]") {
  for (const Format& fmt : {fp16(), bf16(), e4m3(), e5m2()}) {
    NarrowCheck check{fmt};
    const auto& v = fmt.ref.positive_values();
    long exact = 0;
    for (std::size_t i = 0; i + 1 < v.size(); ++i) {
      const double mid = (v[i] + v[i + 1]) / 2;
      const float m = static_cast<float>(mid);
      exact += static_cast<double>(m) == mid;  // every midpoint is an fp32
      for (const float x : {m, std::nextafter(m, 0.0f), std::nextafter(m, 1e30f)}) {
        check(x);
        check(-x);
      }
      // The tie itself goes to the even code of the two.
      const std::uint32_t even = (i % 2 == 0) ? std::uint32_t(i) : std::uint32_t(i + 1);
      if (fmt.narrow(m) != even && check.failures++ == 0)
        check.first = fmt.name + std::string(": odd tie");
    }
    INFO(check.first);
    CHECK(exact == static_cast<long>(v.size() - 1));
    CHECK(check.failures == 0);
  }
}

TEST_CASE("narrowing matches the reference on random fp32 values", "[reduce][convert]") {
  std::mt19937 rng(12345);
  for (const Format& fmt : {fp16(), bf16(), e4m3(), e5m2()}) {
    NarrowCheck check{fmt};
    // Raw bit patterns (every exponent, NaNs, subnormals) ...
    for (int i = 0; i < (1 << 20); ++i) check(float_from_bits(static_cast<std::uint32_t>(rng())));
    // ... and values spread over the format's own range, where rounding matters.
    const double max = fmt.ref.positive_values().back();
    std::uniform_real_distribution<double> log2(std::log2(max) - 40, std::log2(max) + 2);
    for (int i = 0; i < (1 << 20); ++i)
      check(static_cast<float>((i & 1 ? -1 : 1) * std::exp2(log2(rng))));
    INFO(check.first);
    CHECK(check.failures == 0);
  }
}

TEST_CASE("overflow: IEEE formats go to inf, fp8 saturates finite values", "[reduce][convert]") {
  const float inf = std::numeric_limits<float>::infinity();
  CHECK(float_to_half(65504.0f).bits == 0x7bff);
  CHECK(float_to_half(65519.99f).bits == 0x7bff);
  CHECK(float_to_half(65520.0f).bits == 0x7c00);  // tie with 65536 goes up: inf
  CHECK(float_to_half(-1e30f).bits == 0xfc00);
  CHECK(float_to_half(inf).bits == 0x7c00);
  CHECK(float_to_bf16(3.4e38f).bits == 0x7f80);  // rounds past the largest bf16
  CHECK(float_to_bf16(-inf).bits == 0xff80);

  CHECK(float_to_e4m3(448.0f).bits == 0x7e);
  CHECK(float_to_e4m3(464.0f).bits == 0x7e);  // tie with the would-be 480 stays even: 448
  CHECK(float_to_e4m3(1e30f).bits == 0x7e);
  CHECK(float_to_e4m3(inf).bits == 0x7e);  // no inf in E4M3FN: saturate
  CHECK(float_to_e4m3(-inf).bits == 0xfe);

  CHECK(float_to_e5m2(57344.0f).bits == 0x7b);
  CHECK(float_to_e5m2(61440.0f).bits == 0x7b);  // tie would round to inf: saturates
  CHECK(float_to_e5m2(-1e30f).bits == 0xfb);
  CHECK(float_to_e5m2(inf).bits == 0x7c);  // inf is kept (see float_convert.hpp)
  CHECK(float_to_e5m2(-inf).bits == 0xfc);
}

TEST_CASE("NaN stays NaN with its sign", "[reduce][convert]") {
  for (const std::uint32_t bits :
       {0x7fc00000u, 0xffc00000u, 0x7f800001u, 0x7fbfffffu, 0xff800001u}) {
    const float nan = float_from_bits(bits);
    const bool neg = bits >> 31;
    const std::uint16_t h = float_to_half(nan).bits;
    CHECK(((h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0 && (h >> 15) == neg));
    const std::uint16_t b = float_to_bf16(nan).bits;
    CHECK(((b & 0x7f80) == 0x7f80 && (b & 0x7f) != 0 && (b >> 15) == neg));
    CHECK(float_to_e4m3(nan).bits == (neg ? 0xff : 0x7f));
    const std::uint8_t e = float_to_e5m2(nan).bits;
    CHECK(((e & 0x7c) == 0x7c && (e & 0x3) != 0 && (e >> 7) == neg));
  }
  CHECK(std::isnan(e4m3_to_float(Float8E4M3{0x7f})));
  CHECK(std::isnan(e4m3_to_float(Float8E4M3{0xff})));
  CHECK(e4m3_to_float(Float8E4M3{0x7e}) == 448.0f);  // S.1111.110 is a number
}

TEST_CASE("subnormals, both ways", "[reduce][convert]") {
  CHECK(half_to_float(Half{0x0001}) == std::ldexp(1.0f, -24));
  CHECK(half_to_float(Half{0x83ff}) == -std::ldexp(1023.0f, -24));
  CHECK(float_to_half(std::ldexp(1.0f, -25)).bits == 0x0000);         // tie with 0: even
  CHECK(float_to_half(std::ldexp(3.0f, -25)).bits == 0x0002);         // tie 1|2: even
  CHECK(float_to_half(std::ldexp(1.5f, -25)).bits == 0x0001);         // above the tie
  CHECK(float_to_half(std::ldexp(2047.0f, -25)).bits == 0x0400);      // rounds up into the normals
  CHECK(float_to_half(1e-40f).bits == 0x0000);                        // an fp32 subnormal
  CHECK(float_to_bf16(float_from_bits(0x00018000u)).bits == 0x0002);  // fp32 subnormal tie 1|2
  CHECK(bf16_to_float(BFloat16{0x0001}) == float_from_bits(0x00010000u));
  CHECK(e4m3_to_float(Float8E4M3{0x01}) == std::ldexp(1.0f, -9));
  CHECK(float_to_e4m3(std::ldexp(1.0f, -10)).bits == 0x00);
  CHECK(float_to_e4m3(std::ldexp(3.0f, -10)).bits == 0x02);
  CHECK(e5m2_to_float(Float8E5M2{0x83}) == -std::ldexp(3.0f, -16));
  CHECK(float_to_e5m2(std::ldexp(5.0f, -17)).bits == 0x02);  // 2.5 ulps: even
}

#if defined(__SSE2__)
// Callers (PyTorch's set_flush_denormal, -ffast-math binaries) may run with
// FTZ/DAZ on; fp16 and fp8 subnormals must survive since no fp32 subnormal is
// involved. (bf16 subnormals are fp32 subnormals: flushing them is inherent.)
TEST_CASE("fp16 and fp8 conversions do not depend on denormal flushing", "[reduce][convert]") {
  const unsigned saved = _mm_getcsr();
  _mm_setcsr(saved | 0x8040);  // FTZ | DAZ
  for (const Format& fmt : {fp16(), e4m3(), e5m2()}) check_all_codes(fmt);
  _mm_setcsr(saved);
}
#endif

}  // namespace
}  // namespace colossus::reduce
