#include "perf/pattern.hpp"

#include <algorithm>
#include <cmath>

#include "perf/codec.hpp"

namespace colossus::perf {

namespace {

// splitmix64 finalizer: a cheap, well-mixed hash of (rank, phase, seed).
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Wraps an exact integer result to the width of an integer type, as the
// library's two's-complement arithmetic leaves it.
double wrap_to(DataType type, double v) {
  unsigned char buf[8];
  encode(type, v, buf);
  return decode(type, buf);
}

}  // namespace

Pattern::Pattern(DataType type, ReduceOp op, int nranks, uint64_t seed)
    : type_(type), op_(op), nranks_(nranks), seed_(seed), signed_(is_signed(type)) {
  double limit = exact_integer_limit(type);
  sum_k_ = std::clamp(std::floor(limit / nranks), 1.0, 7.0);
  minmax_r_ = std::min(limit + 1, 23.0);
  prod_stride_ = std::max(1, (nranks + 5) / 6);
}

double Pattern::input_value(int rank, std::size_t phase) const {
  uint64_t h = mix((seed_ << 40) ^ (uint64_t(rank) << 20) ^ phase);
  switch (op_) {
    case ReduceOp::Sum:
    case ReduceOp::Avg: {
      auto k = static_cast<uint64_t>(sum_k_);
      if (!signed_) return static_cast<double>(h % (k + 1));
      return static_cast<double>(h % (2 * k + 1)) - sum_k_;
    }
    case ReduceOp::Prod:
      if ((rank + phase) % prod_stride_ == 0) return 2;
      return (signed_ && h % 5 == 0) ? -1 : 1;
    case ReduceOp::Max:
    case ReduceOp::Min: {
      auto v = static_cast<double>(h % static_cast<uint64_t>(minmax_r_));
      return signed_ ? v - std::floor(minmax_r_ / 2) : v;
    }
  }
  return 0;
}

std::vector<unsigned char> Pattern::input_table(int rank) const {
  std::size_t size = dtype_size(type_);
  std::vector<unsigned char> table(kPatternPeriod * size);
  for (std::size_t p = 0; p < kPatternPeriod; ++p)
    encode(type_, input_value(rank, p), &table[p * size]);
  return table;
}

Pattern::Reduced Pattern::reduced_table() const {
  std::size_t size = dtype_size(type_);
  Reduced out;
  out.encoded.resize(kPatternPeriod * size);
  out.value.resize(kPatternPeriod);
  bool floating = is_floating(type_);
  for (std::size_t p = 0; p < kPatternPeriod; ++p) {
    // Exact in double: |sum| <= 7n and products are at most 2^6.
    double acc = input_value(0, p);
    for (int r = 1; r < nranks_; ++r) {
      double v = input_value(r, p);
      switch (op_) {
        case ReduceOp::Sum:
        case ReduceOp::Avg: acc += v; break;
        case ReduceOp::Prod: acc *= v; break;
        case ReduceOp::Max: acc = std::max(acc, v); break;
        case ReduceOp::Min: acc = std::min(acc, v); break;
      }
    }
    if (op_ == ReduceOp::Avg) {
      // Integers: the wrapped sum divided, truncating toward zero.
      acc = floating ? acc / nranks_ : std::trunc(wrap_to(type_, acc) / nranks_);
    }
    if (!floating) acc = wrap_to(type_, acc);
    out.value[p] = acc;
    encode(type_, acc, &out.encoded[p * size]);
  }
  if (floating) {
    double u = unit_roundoff(type_);
    bool sum_exact = sum_k_ * nranks_ <= exact_integer_limit(type_);
    // Recursive summation of n terms bounded by k: error <= (n-1) u n k.
    double sum_err = sum_exact ? 0 : (nranks_ - 1) * u * nranks_ * sum_k_;
    if (op_ == ReduceOp::Sum) out.tolerance = sum_err;
    if (op_ == ReduceOp::Avg) {
      // One rounding of the quotient to the type (after at most one to
      // fp32 on the way), plus the sum's error carried through the divide.
      out.tolerance =
          (u + std::ldexp(1.0, -24)) * sum_k_ + half_min_subnormal(type_) + sum_err / nranks_;
    }
  }
  return out;
}

double Pattern::poison(DataType type) {
  // Outside every pattern's range (|sum| <= 7n within the exact range,
  // products <= 2^6) and exact in its type.
  switch (type) {
    case DataType::Int8: return -128;
    case DataType::Uint8: return 255;
    case DataType::Int32: return -2147483648.0;
    case DataType::Uint32: return 4294967295.0;
    case DataType::Int64: return -std::ldexp(1.0, 62);
    case DataType::Uint64: return std::ldexp(1.0, 62);
    default: return -448;  // the largest e4m3 magnitude; exact in every float type
  }
}

}  // namespace colossus::perf
