// reference.hpp: inputs and float64 expected outputs for collective tests.
//
// Inputs are chosen per (dtype, op) so that the expected value is known:
// integers wrap exactly as the library's do; float Prod uses powers of two
// (exact); float Min/Max are exact; float Sum/Avg get a tolerance derived
// from the dtype's unit roundoff u and the rank count n:
//   |out - ref| <= n*u*sum(|x|) + u*|ref| + n*min_subnormal
// (n-1 roundings of partial sums no larger than sum(|x|), plus the final one).
#pragma once

#include <cmath>
#include <cstdint>

#include "colossus/types.hpp"
#include "support/values.hpp"

namespace colossus::test {

inline double input_value(DataType t, ReduceOp op, int rank, std::size_t i) {
  const uint64_t h = static_cast<uint64_t>(rank) * 31 + i * 17 + i / 7;
  if (is_floating(t)) {
    if (op == ReduceOp::Prod) {
      static const double kPow2[8] = {2, 0.5, 4, 0.25, 1, -1, 1, -1};
      return kPow2[(static_cast<uint64_t>(rank) * 7 + i * 3) % 8];
    }
    return static_cast<double>(static_cast<int64_t>(h % 33) - 16) / 8.0;  // [-2, 2] in 1/8s
  }
  if (op == ReduceOp::Prod) return is_signed_int(t) ? static_cast<double>(h % 5) - 2 : h % 4;
  return is_signed_int(t) ? static_cast<double>(h % 17) - 8 : static_cast<double>(h % 17);
}

// `acc`, truncated to the integer type t as two's complement, as double.
inline double wrap_to(DataType t, uint64_t acc) {
  switch (t) {
    case DataType::Int8: return static_cast<int8_t>(acc);
    case DataType::Uint8: return static_cast<uint8_t>(acc);
    case DataType::Int32: return static_cast<int32_t>(acc);
    case DataType::Uint32: return static_cast<uint32_t>(acc);
    case DataType::Int64: return static_cast<double>(static_cast<int64_t>(acc));
    default: return static_cast<double>(acc);
  }
}

struct Expected {
  double value = 0;
  double tolerance = 0;
};

// Reduction over `n` stored inputs x[0..n) (already rounded to t).
inline Expected reduce_reference(DataType t, ReduceOp op, const double* x, int n) {
  Expected e;
  if (!is_floating(t)) {
    uint64_t acc = op == ReduceOp::Prod ? 1 : 0;
    double mn = x[0], mx = x[0];
    for (int r = 0; r < n; ++r) {
      const auto v = static_cast<uint64_t>(static_cast<int64_t>(x[r]));
      if (op == ReduceOp::Prod)
        acc *= v;
      else
        acc += v;
      mn = std::min(mn, x[r]);
      mx = std::max(mx, x[r]);
    }
    switch (op) {
      case ReduceOp::Sum:
      case ReduceOp::Prod: e.value = wrap_to(t, acc); break;
      case ReduceOp::Min: e.value = mn; break;
      case ReduceOp::Max: e.value = mx; break;
      case ReduceOp::Avg: {
        const double wrapped = wrap_to(t, acc);  // integer avg: wrapped sum / n, truncated
        e.value =
            is_signed_int(t)
                ? static_cast<double>(static_cast<int64_t>(wrapped) / n)
                : static_cast<double>(static_cast<uint64_t>(wrapped) / static_cast<uint64_t>(n));
        break;
      }
    }
    return e;
  }
  double sum = 0, abs_sum = 0, prod = 1, mn = x[0], mx = x[0];
  for (int r = 0; r < n; ++r) {
    sum += x[r];
    abs_sum += std::fabs(x[r]);
    prod *= x[r];
    mn = std::min(mn, x[r]);
    mx = std::max(mx, x[r]);
  }
  switch (op) {
    case ReduceOp::Sum: e.value = sum; break;
    case ReduceOp::Avg: e.value = sum / n; break;
    case ReduceOp::Prod: e.value = prod; return e;  // powers of two: exact
    case ReduceOp::Min: e.value = mn; return e;
    case ReduceOp::Max: e.value = mx; return e;
  }
  const double u = unit_roundoff(t);
  e.tolerance = n * u * abs_sum + u * std::fabs(e.value) + n * min_subnormal(t);
  return e;
}

}  // namespace colossus::test
