// The AVX2 + F16C fp16/bf16 kernels (lib/reduce/reduce_x86.cc) against the
// portable loops, bit for bit, NaN payloads included: reduce_copy (which
// dispatches to the kernels) and reduce_copy_portable must write the same
// bytes, and touch nothing outside the output range.
//
// One exception, checked on its own: a sum or product of two NaNs is in0's
// NaN here, where the portable loops pick either operand's payload (IEEE 754
// leaves it open; see reduce_x86.cc).
//
// Inputs: every 16-bit pattern as one operand against a spread of the other
// (signed zeros, subnormals, the normal boundary, 1 and its neighbours, values
// whose sums and products land on ties, max finite, infinities, quiet and
// signalling NaNs of both signs, random codes), both ways round, for Sum,
// Prod, Max, Min and Avg with several divisors and for the division-only form;
// then short counts (tails) at odd offsets. Every aliasing form reduce_copy
// allows. Skipped on a CPU (or build) without the kernels.
#include "reduce/reduce_x86.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "catch.hpp"
#include "support/skip_case.hpp"  // after catch.hpp
#include "x86_compare.hpp"

namespace colossus::reduce {
namespace {

using namespace x86_test;  // NOLINT: the comparison helpers

// Two NaNs: the x86 path returns in0's, quieted, wherever the element sits.
void first_nan_wins(DataType dtype) {
  const std::uint16_t x = dtype == DataType::Float16 ? 0xfd55 : 0xffa5;  // signalling
  const std::uint16_t y = dtype == DataType::Float16 ? 0x7e2a : 0x7fea;  // quiet
  for (const std::size_t count : {1, 15, 16, 17, 40}) {
    for (const OpCase op :
         {OpCase{ReduceOp::Sum, 1}, OpCase{ReduceOp::Prod, 1}, OpCase{ReduceOp::Avg, 3}}) {
      const Codes a(count, x), b(count, y);
      const Codes got = run(true, dtype, op, Alias::kDistinct, a, b, 0, count);
      for (std::size_t i = 0; i < count; ++i)
        CHECK(hex(got[2 * count + i]) == hex(quiet(dtype, x)));
      const Codes swapped = run(true, dtype, op, Alias::kOutIsA, b, a, 0, count);
      for (std::size_t i = 0; i < count; ++i) CHECK(hex(swapped[i]) == hex(quiet(dtype, y)));
    }
  }
}

// The spread of second operands for each format.
Codes spread(DataType dtype) {
  Codes s = dtype == DataType::Float16
                ? Codes{0x0000, 0x8000, 0x0001, 0x8001, 0x0003, 0x03ff, 0x83ff, 0x0400,
                        0x8400, 0x0401, 0x3c00, 0xbc00, 0x3c01, 0x3bff, 0x3800, 0x4000,
                        0x1400, 0x0c00, 0x6800, 0xe801, 0x7bff, 0xfbff, 0x7800, 0x7c00,
                        0xfc00, 0x7e00, 0xfe00, 0x7c01, 0xfd55, 0x7fff, 0x7e2a, 0x3555}
                : Codes{0x0000, 0x8000, 0x0001, 0x8001, 0x0003, 0x007f, 0x807f, 0x0080,
                        0x8080, 0x0081, 0x3f80, 0xbf80, 0x3f81, 0x3f7f, 0x3f00, 0x4000,
                        0x3b80, 0x3400, 0x4380, 0xc381, 0x7f7f, 0xff7f, 0x7f00, 0x7f80,
                        0xff80, 0x7fc0, 0xffc0, 0x7f81, 0xffa5, 0x7fff, 0x7fea, 0x3eab};
  std::mt19937 rng(dtype == DataType::Float16 ? 16 : 17);
  for (int i = 0; i < 16; ++i) s.push_back(static_cast<std::uint16_t>(rng()));
  return s;
}

void exhaustive(DataType dtype) {
  if (!x86::half_kernels_available()) {
    test::skip_case("x86 kernels", "this CPU or build has no AVX2 + F16C kernels");
  }
  // a: all 65536 codes against each spread value, then the spread values
  // against all codes (order matters for Max, Min and NaN payloads).
  const Codes s = spread(dtype);
  Codes a, b;
  for (int swap = 0; swap < 2; ++swap) {
    for (const std::uint16_t v : s) {
      for (std::uint32_t c = 0; c < 65536; ++c) {
        a.push_back(swap ? v : static_cast<std::uint16_t>(c));
        b.push_back(swap ? static_cast<std::uint16_t>(c) : v);
      }
    }
  }
  for (const OpCase op : kOps) {
    for (const Alias alias : kAliases) compare(dtype, op, alias, a, b, 0, a.size());
  }
  first_nan_wins(dtype);
}

void tails(DataType dtype) {
  if (!x86::half_kernels_available()) {
    test::skip_case("x86 kernels", "this CPU or build has no AVX2 + F16C kernels");
  }
  // Random codes with the spread mixed in, so tails see NaNs and infinities.
  const Codes s = spread(dtype);
  std::mt19937 rng(99);
  Codes a(1100), b(1100);
  for (std::size_t i = 0; i < a.size(); ++i) {
    a[i] = rng() % 3 == 0 ? s[rng() % s.size()] : static_cast<std::uint16_t>(rng());
    b[i] = rng() % 3 == 0 ? s[rng() % s.size()] : static_cast<std::uint16_t>(rng());
  }
  for (const std::size_t count : {0, 1, 7, 15, 16, 17, 31, 33, 1000}) {
    for (const std::size_t offset : {0, 1, 3, 16}) {
      for (const OpCase op : kOps) {
        for (const Alias alias : kAliases) compare(dtype, op, alias, a, b, offset, count);
      }
    }
  }
}

TEST_CASE("x86 fp16 kernels: every code against a spread, bit for bit") {
  exhaustive(DataType::Float16);
}
TEST_CASE("x86 bf16 kernels: every code against a spread, bit for bit") {
  exhaustive(DataType::Bfloat16);
}
TEST_CASE("x86 fp16 kernels: short counts and odd offsets, bit for bit") {
  tails(DataType::Float16);
}
TEST_CASE("x86 bf16 kernels: short counts and odd offsets, bit for bit") {
  tails(DataType::Bfloat16);
}

}  // namespace
}  // namespace colossus::reduce
