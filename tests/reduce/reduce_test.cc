// Tests for reduce_copy: every dtype x op against a scalar reference computed
// in double (floats) or 64-bit integers, over odd counts, misaligned pointers,
// every exact aliasing the contract allows, and one or two outputs.
//
// Results must match bit for bit (NaN payloads aside). That holds although the
// kernels round fp32 sums and quotients that the reference computes in double:
// rounding a double result to a format of p <= 24 bits equals rounding the
// exact result once, since 53 >= 2p + 2 (the same holds from fp32 to fp16,
// bf16 and fp8). Avg is the one place where the compute type shows: the sum
// is rounded to it (and may overflow there) before the division.
#include "reduce/reduce.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "catch.hpp"
#include "reduce/float_convert.hpp"
#include "reduce/model.hpp"

namespace colossus::reduce {
namespace {

using testing::Model;

// Which of four buffers (0: in0, 1: in1, 2: out0, 3: out1; -1: none) plays each role.
struct Layout {
  const char* name;
  int in1, out0, out1;
};
constexpr Layout kLayouts[] = {
    {"distinct", 1, 2, -1},          {"distinct, out1", 1, 2, 3},  {"out0=in0", 1, 0, -1},
    {"out0=in0, out1", 1, 0, 3},     {"out0=in1", 1, 1, -1},       {"out0=in1, out1", 1, 1, 3},
    {"in0=in1", 0, 2, -1},           {"out0=in0=in1", 0, 0, -1},   {"out1=in0", 1, 2, 0},
    {"out0=in0, out1=in1", 1, 0, 1}, {"copy", -1, 2, -1},          {"copy, out1", -1, 2, 3},
    {"copy in place", -1, 0, -1},    {"copy, out1=in0", -1, 2, 0},
};
constexpr std::size_t kCounts[] = {0, 1, 2, 3, 7, 15, 16, 17, 31, 33, 1009};
constexpr int kGuard = 5;  // elements after the range that must stay untouched

template <class T>
bool same_bits(const T& a, const T& b) {
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

// Runs one configuration; returns a description of the first wrong element, or "".
template <class T>
std::string run_case(DataType dtype, ReduceOp op, int divisor, std::size_t count,
                     std::size_t offset, const Layout& layout, std::mt19937_64& rng) {
  using M = Model<T>;
  const std::size_t size = offset + count + kGuard;
  std::vector<T> buf[4];
  for (auto& b : buf) {
    b.resize(size);
    for (auto& v : b) v = M::random(rng);
  }
  const std::vector<T> before[4] = {buf[0], buf[1], buf[2], buf[3]};
  auto at = [&](int role) -> T* { return role < 0 ? nullptr : buf[role].data() + offset; };

  ReduceCopyArgs args;
  args.dtype = dtype;
  args.op = op;
  args.in0 = at(0);
  args.in1 = at(layout.in1);
  args.out0 = at(layout.out0);
  args.out1 = at(layout.out1);
  args.count = count;
  args.divisor = divisor;
  reduce_copy(args);

  const bool copy = layout.in1 < 0;
  for (int b = 0; b < 4; ++b) {
    const bool written = b == layout.out0 || b == layout.out1;
    for (std::size_t i = 0; i < size; ++i) {
      const bool in_range = i >= offset && i < offset + count;
      const T& got = buf[b][i];
      if (written && in_range) {
        const T& x = before[0][i];
        const T& y = before[layout.in1 < 0 ? 0 : layout.in1][i];
        const bool exact_copy = copy && divisor <= 1;
        const T want = exact_copy ? x : copy ? M::scale(x, divisor) : M::expect(op, x, y, divisor);
        const bool ok = exact_copy ? same_bits(got, want) : M::matches(got, want);
        if (ok) continue;
      } else if (same_bits(got, before[b][i])) {
        continue;
      }
      std::ostringstream s;
      s << "buffer " << b << " element " << i << (written && in_range ? " wrong" : " clobbered");
      return s.str();
    }
  }
  return "";
}

template <class T>
void check_dtype(DataType dtype, const char* name) {
  std::mt19937_64 rng(static_cast<std::uint64_t>(dtype) * 7919 + 1);
  struct OpCase {
    ReduceOp op;
    int divisor;
  };
  const OpCase ops[] = {{ReduceOp::Sum, 1}, {ReduceOp::Prod, 1}, {ReduceOp::Max, 1},
                        {ReduceOp::Min, 1}, {ReduceOp::Avg, 1},  {ReduceOp::Avg, 3},
                        {ReduceOp::Avg, 8}, {ReduceOp::Avg, 200}};
  for (const OpCase& oc : ops) {
    for (const Layout& layout : kLayouts) {
      for (const std::size_t count : kCounts) {
        for (const std::size_t offset : {0, 1}) {
          const std::string error =
              run_case<T>(dtype, oc.op, oc.divisor, count, offset, layout, rng);
          INFO(name << " op " << static_cast<int>(oc.op) << " / " << oc.divisor << ", "
                    << layout.name << ", count " << count << ", offset " << offset << ": "
                    << error);
          CHECK(error.empty());
        }
      }
    }
  }
}

// Buffers of exactly `count` elements, so that AddressSanitizer (COLOSSUS_SANITIZE)
// catches any read or write past the range, which the guards above cannot see for reads.
TEST_CASE("reduce_copy touches nothing past count", "[reduce]") {
  for (int t = 0; t < kNumDataTypes; ++t) {
    const auto dtype = static_cast<DataType>(t);
    for (const std::size_t count : kCounts) {
      const std::size_t bytes = count * dtype_size(dtype);
      std::vector<unsigned char> in0(bytes, 1), in1(bytes, 2), out0(bytes), out1(bytes);
      for (const int divisor : {1, 3}) {
        ReduceCopyArgs args;
        args.dtype = dtype;
        args.op = divisor > 1 ? ReduceOp::Avg : ReduceOp::Sum;
        args.in0 = in0.data();
        args.in1 = in1.data();
        args.out0 = out0.data();
        args.out1 = out1.data();
        args.count = count;
        args.divisor = divisor;
        reduce_copy(args);
        args.in1 = nullptr;
        reduce_copy(args);
      }
      CHECK(out0 == out1);
    }
  }
}

TEST_CASE("reduce_copy int8", "[reduce]") { check_dtype<std::int8_t>(DataType::Int8, "int8"); }
TEST_CASE("reduce_copy uint8", "[reduce]") { check_dtype<std::uint8_t>(DataType::Uint8, "uint8"); }
TEST_CASE("reduce_copy int32", "[reduce]") { check_dtype<std::int32_t>(DataType::Int32, "int32"); }
TEST_CASE("reduce_copy uint32", "[reduce]") {
  check_dtype<std::uint32_t>(DataType::Uint32, "uint32");
}
TEST_CASE("reduce_copy int64", "[reduce]") { check_dtype<std::int64_t>(DataType::Int64, "int64"); }
TEST_CASE("reduce_copy uint64", "[reduce]") {
  check_dtype<std::uint64_t>(DataType::Uint64, "uint64");
}
TEST_CASE("reduce_copy float16", "[reduce]") { check_dtype<Half>(DataType::Float16, "float16"); }
TEST_CASE("reduce_copy float32", "[reduce]") { check_dtype<float>(DataType::Float32, "float32"); }
TEST_CASE("reduce_copy float64", "[reduce]") { check_dtype<double>(DataType::Float64, "float64"); }
TEST_CASE("reduce_copy bfloat16", "[reduce]") {
  check_dtype<BFloat16>(DataType::Bfloat16, "bfloat16");
}
TEST_CASE("reduce_copy float8 e4m3", "[reduce]") {
  check_dtype<Float8E4M3>(DataType::Float8e4m3, "float8 e4m3");
}
TEST_CASE("reduce_copy float8 e5m2", "[reduce]") {
  check_dtype<Float8E5M2>(DataType::Float8e5m2, "float8 e5m2");
}

}  // namespace
}  // namespace colossus::reduce
