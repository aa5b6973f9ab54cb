// The AVX2 + F16C fp8 kernels (lib/reduce/reduce_x86_fp8.cc) against the
// portable loops, bit for bit: every one of the 256 x 256 operand pairs, both
// formats, for Sum, Prod, Max, Min and Avg with several divisors and for the
// division-only form, in every aliasing form reduce_copy allows; then short
// counts (tails) at odd offsets. Both the AVX2 kernels and, where the CPU
// has AVX-512, the AVX-512 ones. The one difference allowed is fp16's: a sum
// or product of two NaNs is in0's NaN here (x86_compare.hpp). Skipped on a
// CPU (or build) without the kernels.
#include <cstddef>
#include <cstdint>
#include <random>

#include "catch.hpp"
#include "reduce/reduce_x86.hpp"
#include "support/skip_case.hpp"  // after catch.hpp
#include "x86_compare.hpp"

namespace colossus::reduce {
namespace {

using namespace x86_test;  // NOLINT: the comparison helpers

void require_kernels() {
  if (!x86::half_kernels_available()) {
    test::skip_case("x86 kernels", "this CPU or build has no AVX2 + F16C kernels");
  }
}

// Runs check(), under INFO, once per kernel set this CPU has: AVX2 (AVX-512
// turned off), then AVX-512, left on afterwards as reduce_copy has it.
template <class Check>
void each_kernel_set(Check check) {
  x86::set_avx512_enabled(true);
  const bool have_avx512 = x86::avx512_kernels_available();
  for (const bool avx512 : {false, true}) {
    if (avx512 && !have_avx512) break;
    x86::set_avx512_enabled(avx512);
    INFO((avx512 ? "AVX-512" : "AVX2") << " kernels");
    check();
  }
  x86::set_avx512_enabled(true);
}

// Two NaNs: in0's, quieted, wherever the element sits.
void first_nan_wins(DataType dtype) {
  const std::uint8_t x = dtype == DataType::Float8e4m3 ? 0xff : 0xfd;  // e5m2: signalling
  const std::uint8_t y = dtype == DataType::Float8e4m3 ? 0x7f : 0x7e;
  for (const std::size_t count : {1, 15, 16, 17, 40}) {
    for (const OpCase op :
         {OpCase{ReduceOp::Sum, 1}, OpCase{ReduceOp::Prod, 1}, OpCase{ReduceOp::Avg, 3}}) {
      const Codes8 a(count, x), b(count, y);
      const Codes8 got = run(true, dtype, op, Alias::kDistinct, a, b, 0, count);
      for (std::size_t i = 0; i < count; ++i)
        CHECK(hex(got[2 * count + i]) == hex(quiet(dtype, x)));
      const Codes8 swapped = run(true, dtype, op, Alias::kOutIsA, b, a, 0, count);
      for (std::size_t i = 0; i < count; ++i) CHECK(hex(swapped[i]) == hex(quiet(dtype, y)));
    }
  }
}

void exhaustive(DataType dtype) {
  require_kernels();
  Codes8 a, b;
  for (std::uint32_t x = 0; x < 256; ++x) {
    for (std::uint32_t y = 0; y < 256; ++y) {
      a.push_back(static_cast<std::uint8_t>(x));
      b.push_back(static_cast<std::uint8_t>(y));
    }
  }
  each_kernel_set([&] {
    for (const OpCase op : kOps) {
      for (const Alias alias : kAliases) compare(dtype, op, alias, a, b, 0, a.size());
    }
    first_nan_wins(dtype);
  });
}

void tails(DataType dtype) {
  require_kernels();
  std::mt19937 rng(dtype == DataType::Float8e4m3 ? 43 : 52);
  Codes8 a(1100), b(1100);
  for (std::size_t i = 0; i < a.size(); ++i) {
    a[i] = static_cast<std::uint8_t>(rng());
    b[i] = static_cast<std::uint8_t>(rng());
  }
  each_kernel_set([&] {
    for (const std::size_t count : {0, 1, 7, 15, 16, 17, 31, 32, 33, 47, 1000}) {
      for (const std::size_t offset : {0, 1, 3, 16}) {
        for (const OpCase op : kOps) {
          for (const Alias alias : kAliases) compare(dtype, op, alias, a, b, offset, count);
        }
      }
    }
  });
}

TEST_CASE("x86 fp8 e4m3 kernels: every pair of codes, bit for bit") {
  exhaustive(DataType::Float8e4m3);
}
TEST_CASE("x86 fp8 e5m2 kernels: every pair of codes, bit for bit") {
  exhaustive(DataType::Float8e5m2);
}
TEST_CASE("x86 fp8 e4m3 kernels: short counts and odd offsets, bit for bit") {
  tails(DataType::Float8e4m3);
}
TEST_CASE("x86 fp8 e5m2 kernels: short counts and odd offsets, bit for bit") {
  tails(DataType::Float8e5m2);
}

}  // namespace
}  // namespace colossus::reduce
