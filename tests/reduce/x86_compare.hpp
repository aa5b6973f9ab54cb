// x86_compare.hpp: runs a reduction through the x86 kernels and through the
// portable loops and compares every buffer either may write, bit for bit
// (reduce_x86_test.cc: fp16 and bf16; reduce_x86_fp8_test.cc: fp8).
#pragma once

#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "catch.hpp"
#include "reduce/reduce_x86.hpp"

namespace colossus::reduce::x86_test {

using Codes = std::vector<std::uint16_t>;
using Codes8 = std::vector<std::uint8_t>;  // fp8

// Which buffer each role uses: A holds in0, B in1, O a separate output.
enum class Alias {
  kDistinct,
  kTwoOutputs,
  kOutIsA,
  kOutIsB,
  kAIsB,
  kAllOne,
  kScale,
  kScaleInPlace
};
constexpr Alias kAliases[] = {Alias::kDistinct, Alias::kTwoOutputs,  Alias::kOutIsA,
                              Alias::kOutIsB,   Alias::kAIsB,        Alias::kAllOne,
                              Alias::kScale,    Alias::kScaleInPlace};
inline const char* name(Alias a) {
  switch (a) {
    case Alias::kDistinct: return "distinct";
    case Alias::kTwoOutputs: return "distinct, out1";
    case Alias::kOutIsA: return "out0=in0";
    case Alias::kOutIsB: return "out0=in1";
    case Alias::kAIsB: return "in0=in1";
    case Alias::kAllOne: return "out0=in0=in1";
    case Alias::kScale: return "in1=null (divide only)";
    case Alias::kScaleInPlace: return "in1=null, out0=in0";
  }
  return "?";
}
inline bool is_scale(Alias a) { return a == Alias::kScale || a == Alias::kScaleInPlace; }

struct OpCase {
  ReduceOp op;
  int divisor;
};
constexpr OpCase kOps[] = {{ReduceOp::Sum, 1}, {ReduceOp::Prod, 1}, {ReduceOp::Max, 1},
                           {ReduceOp::Min, 1}, {ReduceOp::Avg, 2},  {ReduceOp::Avg, 3},
                           {ReduceOp::Avg, 7}};

constexpr std::uint16_t kFill = 0x5a5a;  // output buffer contents before the call (fp8: 0x5a)

// Runs one reduction over [offset, offset + count) of copies of a and b and
// returns every buffer it may have written, guards included.
template <class V>
V run(bool fast, DataType dtype, OpCase op, Alias alias, const V& a, const V& b, std::size_t offset,
      std::size_t count) {
  using C = typename V::value_type;
  V A = a, B = b, O(a.size(), static_cast<C>(kFill)), O1(a.size(), static_cast<C>(kFill));
  ReduceCopyArgs args;
  args.dtype = dtype;
  args.op = op.op;
  args.divisor = is_scale(alias) ? (op.divisor > 1 ? op.divisor : 3) : op.divisor;
  args.count = count;
  args.in0 = A.data() + offset;
  args.in1 = B.data() + offset;
  args.out0 = O.data() + offset;
  switch (alias) {
    case Alias::kDistinct: break;
    case Alias::kTwoOutputs: args.out1 = O1.data() + offset; break;
    case Alias::kOutIsA: args.out0 = A.data() + offset; break;
    case Alias::kOutIsB: args.out0 = B.data() + offset; break;
    case Alias::kAIsB: args.in1 = args.in0; break;
    case Alias::kAllOne: args.in1 = args.out0 = A.data() + offset; break;
    case Alias::kScale: args.in1 = nullptr; break;
    case Alias::kScaleInPlace: args.in1 = nullptr, args.out0 = A.data() + offset; break;
  }
  if (fast) {
    // The kernels must really be the ones running.
    REQUIRE(x86::half_kernel(args) != nullptr);
    reduce_copy(args);
  } else {
    reduce_copy_portable(args);
  }
  V all = A;
  all.insert(all.end(), B.begin(), B.end());
  all.insert(all.end(), O.begin(), O.end());
  all.insert(all.end(), O1.begin(), O1.end());
  return all;
}

inline std::string hex(std::uint16_t v) {
  std::ostringstream s;
  s << "0x" << std::hex << v;
  return s.str();
}

inline bool is_nan(DataType dtype, std::uint16_t c) {
  switch (dtype) {
    case DataType::Float16: return (c & 0x7fff) > 0x7c00;
    case DataType::Float8e4m3: return (c & 0x7f) == 0x7f;  // S.1111.111 only
    case DataType::Float8e5m2: return (c & 0x7f) > 0x7c;
    default: return (c & 0x7fff) > 0x7f80;
  }
}
inline std::uint16_t quiet(DataType dtype, std::uint16_t c) {
  switch (dtype) {
    case DataType::Float16: return c | 0x0200;
    case DataType::Float8e4m3: return c;  // one NaN per sign
    case DataType::Float8e5m2: return c | 0x02;
    default: return c | 0x0040;
  }
}
inline const char* dtype_name(DataType dtype) {
  switch (dtype) {
    case DataType::Float16: return "fp16";
    case DataType::Float8e4m3: return "fp8 e4m3";
    case DataType::Float8e5m2: return "fp8 e5m2";
    default: return "bf16";
  }
}

// The one difference allowed: a sum or product (Avg too) of two NaNs is in0's
// NaN on the x86 path, always, and either operand's on the portable path (its
// choice depends on where the element sits in a vector: see reduce_x86.cc).
inline bool two_nan_choice(DataType dtype, OpCase op, std::uint16_t x, std::uint16_t y,
                           std::uint16_t fast, std::uint16_t slow) {
  return (op.op == ReduceOp::Sum || op.op == ReduceOp::Prod || op.op == ReduceOp::Avg) &&
         is_nan(dtype, x) && is_nan(dtype, y) && fast == quiet(dtype, x) && slow == quiet(dtype, y);
}

// Both paths on the same inputs; on a difference, says where and what.
template <class V>
void compare(DataType dtype, OpCase op, Alias alias, const V& a, const V& b, std::size_t offset,
             std::size_t count) {
  const V fast = run(true, dtype, op, alias, a, b, offset, count);
  const V slow = run(false, dtype, op, alias, a, b, offset, count);
  const bool two_inputs = !is_scale(alias) && alias != Alias::kAIsB && alias != Alias::kAllOne;
  const std::size_t n = a.size();
  std::size_t diffs = 0, first = 0;
  for (std::size_t i = 0; i < fast.size(); ++i) {
    if (fast[i] == slow[i]) continue;
    const std::size_t k = i % n;
    const bool in_range = k >= offset && k < offset + count;
    if (two_inputs && in_range && two_nan_choice(dtype, op, a[k], b[k], fast[i], slow[i])) {
      continue;
    }
    if (diffs++ == 0) first = i;
  }
  if (diffs == 0) {
    SUCCEED();
    return;
  }
  const std::size_t k = first % n;
  INFO(dtype_name(dtype) << " op " << static_cast<int>(op.op) << " divisor " << op.divisor << ", "
                         << name(alias) << ", offset " << offset << ", count " << count << ": "
                         << diffs << " codes differ; first in buffer " << first / n << " element "
                         << k << ": a " << hex(a[k]) << " b " << hex(b[k]) << " -> x86 "
                         << hex(fast[first]) << ", portable " << hex(slow[first]));
  CHECK(diffs == 0);
}

}  // namespace colossus::reduce::x86_test
