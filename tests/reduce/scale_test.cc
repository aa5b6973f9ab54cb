// Tests for reduce::scale (the pre-multiplied sum's scaling): every dtype
// against the double / 64-bit reference of model.hpp (x * s rounded once to
// the dtype), counts 0, 1, primes and odd, in place and out of place, at
// misaligned offsets, with guards that must stay untouched; and the edge
// cases spelled out: wrapping integers, one rounding for fp16, fp8
// saturation, NaN and infinities.
#include "reduce/scale.hpp"

#include <cstdint>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "catch.hpp"
#include "reduce/float_convert.hpp"
#include "reduce/model.hpp"

namespace colossus::reduce {
namespace {

using testing::Model;

constexpr std::size_t kScaleCounts[] = {0, 1, 2, 3, 7, 13, 17, 31, 33, 1009};
constexpr std::size_t kGuard = 4;

template <class T>
bool same_bits(const T& a, const T& b) {
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

// One configuration; returns the first wrong element described, or "".
template <class T>
std::string scale_case(DataType dtype, T s, std::size_t count, std::size_t offset, bool in_place,
                       std::mt19937_64& rng) {
  using M = Model<T>;
  const std::size_t size = offset + count + kGuard;
  std::vector<T> in(size), out(size);
  for (auto& v : in) v = M::random(rng);
  for (auto& v : out) v = M::random(rng);
  const std::vector<T> in_before = in, out_before = out;
  T* dst = in_place ? in.data() + offset : out.data() + offset;
  scale(dtype, in.data() + offset, dst, count, &s);
  const std::vector<T>& result = in_place ? in : out;
  const std::vector<T>& untouched = in_place ? out : in;
  const std::vector<T>& untouched_before = in_place ? out_before : in_before;
  const std::vector<T>& result_before = in_place ? in_before : out_before;
  for (std::size_t i = 0; i < size; ++i) {
    std::ostringstream what;
    if (!same_bits(untouched[i], untouched_before[i])) {
      what << "element " << i << " of the buffer not written changed";
      return what.str();
    }
    const bool in_range = i >= offset && i < offset + count;
    if (in_range) {
      const T want = M::expect(ReduceOp::Prod, in_before[i], s, 1);
      if (!M::matches(result[i], want)) what << "element " << i << " wrong";
    } else if (!same_bits(result[i], result_before[i])) {
      what << "element " << i << " outside the range clobbered";
    }
    if (!what.str().empty()) return what.str();
  }
  return "";
}

template <class T>
void check_scale(DataType dtype, const char* name) {
  std::mt19937_64 rng(static_cast<std::uint64_t>(dtype) * 104729 + 3);
  for (int k = 0; k < 24; ++k) {
    const T s = Model<T>::random(rng);
    for (const std::size_t count : kScaleCounts) {
      for (const std::size_t offset : {0, 1}) {
        for (const bool in_place : {false, true}) {
          const std::string error = scale_case<T>(dtype, s, count, offset, in_place, rng);
          INFO(name << " scalar #" << k << ", count " << count << ", offset " << offset
                    << (in_place ? ", in place: " : ", out of place: ") << error);
          CHECK(error.empty());
        }
      }
    }
  }
}

TEST_CASE("scale every dtype against the reference", "[reduce][scale]") {
  check_scale<std::int8_t>(DataType::Int8, "int8");
  check_scale<std::uint8_t>(DataType::Uint8, "uint8");
  check_scale<std::int32_t>(DataType::Int32, "int32");
  check_scale<std::uint32_t>(DataType::Uint32, "uint32");
  check_scale<std::int64_t>(DataType::Int64, "int64");
  check_scale<std::uint64_t>(DataType::Uint64, "uint64");
  check_scale<Half>(DataType::Float16, "float16");
  check_scale<float>(DataType::Float32, "float32");
  check_scale<double>(DataType::Float64, "float64");
  check_scale<BFloat16>(DataType::Bfloat16, "bfloat16");
  check_scale<Float8E4M3>(DataType::Float8e4m3, "float8 e4m3");
  check_scale<Float8E5M2>(DataType::Float8e5m2, "float8 e5m2");
}

// The scalar is read from unaligned bytes, and `in` is left alone out of place.
TEST_CASE("scale reads the scalar from any address", "[reduce][scale]") {
  alignas(8) unsigned char bytes[16] = {};
  const double s = -2.5;
  std::memcpy(bytes + 3, &s, sizeof s);
  const std::vector<double> in = {1, -4, 0.5};
  std::vector<double> out(3);
  scale(DataType::Float64, in.data(), out.data(), 3, bytes + 3);
  CHECK(out == std::vector<double>{-2.5, 10, -1.25});
  CHECK(in == std::vector<double>{1, -4, 0.5});
}

template <class T>
T scale_one(DataType dtype, T x, T s) {
  T out{};
  scale(dtype, &x, &out, 1, &s);
  return out;
}

TEST_CASE("scale edge cases", "[reduce][scale]") {
  // Integers wrap as the integer sum does.
  CHECK(scale_one<std::int8_t>(DataType::Int8, 100, 3) == 44);
  CHECK(scale_one<std::int8_t>(DataType::Int8, -128, -1) == -128);
  CHECK(scale_one<std::uint8_t>(DataType::Uint8, 200, 2) == 144);
  CHECK(scale_one<std::int32_t>(DataType::Int32, 0x40000000, 4) == 0);
  CHECK(scale_one<std::uint64_t>(DataType::Uint64, ~0ull, 2) == ~0ull - 1);
  // fp16: (1 + 2^-10)^2 = 1 + 2^-9 + 2^-20, exact in fp32, one rounding: 1 + 2^-9.
  CHECK(scale_one(DataType::Float16, Half{0x3c01}, Half{0x3c01}).bits == 0x3c02);
  // fp16 overflow to inf; bf16 keeps fp32's range.
  CHECK(scale_one(DataType::Float16, Half{0x7bff}, Half{0x4000}).bits == 0x7c00);
  CHECK(scale_one(DataType::Bfloat16, BFloat16{0x7f00}, BFloat16{0x4000}).bits == 0x7f80);
  // fp8 e4m3: 448 * 2 saturates to 448 (0x7e), -448 * 2 to -448; NaN (0x7f) stays NaN.
  CHECK(scale_one(DataType::Float8e4m3, Float8E4M3{0x7e}, Float8E4M3{0x40}).bits == 0x7e);
  CHECK(scale_one(DataType::Float8e4m3, Float8E4M3{0xfe}, Float8E4M3{0x40}).bits == 0xfe);
  CHECK((scale_one(DataType::Float8e4m3, Float8E4M3{0x7f}, Float8E4M3{0x38}).bits & 0x7f) == 0x7f);
  // fp8 e5m2: 57344 * 2 saturates to 57344 (0x7b); inf stays inf; inf * 0 is NaN.
  CHECK(scale_one(DataType::Float8e5m2, Float8E5M2{0x7b}, Float8E5M2{0x40}).bits == 0x7b);
  CHECK(scale_one(DataType::Float8e5m2, Float8E5M2{0x7c}, Float8E5M2{0x3c}).bits == 0x7c);
  const auto nan = scale_one(DataType::Float8e5m2, Float8E5M2{0x7c}, Float8E5M2{0x00}).bits;
  CHECK(((nan & 0x7c) == 0x7c && (nan & 0x03) != 0));
  // Wide floats: NaN propagates, inf * -1 = -inf, a zero scalar keeps signs.
  CHECK(std::isnan(scale_one(DataType::Float32, 1.0f, std::numeric_limits<float>::quiet_NaN())));
  CHECK(scale_one(DataType::Float64, std::numeric_limits<double>::infinity(), -1.0) ==
        -std::numeric_limits<double>::infinity());
  CHECK(std::signbit(scale_one(DataType::Float32, -3.0f, 0.0f)));
}

}  // namespace
}  // namespace colossus::reduce
