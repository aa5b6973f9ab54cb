// reference.hpp: inputs and float64 expected outputs for collective tests.
//
// Inputs are chosen per (dtype, op) so that the expected value is known:
// integers wrap exactly as the library's do; float Prod uses powers of two
// (exact); float Min/Max are exact; float Sum/Avg get a tolerance derived
// from the dtype's unit roundoff u and the rank count n:
//   |out - ref| <= n*u*sum(|x|) + u*|ref| + n*min_subnormal
// (n-1 roundings of partial sums no larger than sum(|x|), plus the final one).
//
// Collectives that only move data (alltoall, alltoallv, gather, scatter,
// send/recv) are checked exactly: their inputs are tag_value()s, a hash of
// (rank, index) as varied as the type holds, so that an element taken from
// the wrong rank or offset rarely matches; where each block goes is
// vector_layout() (alltoallv) and p2p_count() (the send/recv pattern).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

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

// splitmix64's finalizer: a well-mixed 64-bit hash.
inline uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Input of data-moving collectives: finite for every type (floats in
// [-60, 60] in quarters, rounded by store()), integers over their whole
// range (64-bit ones below 2^52, exact in the double they are compared as).
inline double tag_value(DataType t, int rank, std::size_t i) {
  const uint64_t h = mix((static_cast<uint64_t>(rank) << 40) ^ i);
  if (is_floating(t)) return static_cast<double>(static_cast<int64_t>(h % 481) - 240) / 4.0;
  if (dtype_size(t) == 8) return static_cast<double>(h % (uint64_t{1} << 52));
  return static_cast<double>(h % (uint64_t{1} << (8 * dtype_size(t))));  // store() wraps
}

// An alltoallv's blocks on every rank: rank r sends counts[r][q] elements to
// rank q from send_displs[r][q], and receives them at recv_displs[q][r]. The
// counts are seeded and uneven (about a quarter of them zero, the others up
// to 2*count); with n > 1 one rank receives nothing and, with n > 2, another
// sends nothing; blocks lie in a seeded order with gaps of 0-2 elements
// before each, and with n > 2 each rank's send block for r+2 starts where
// the one for r+1 does (sending the same data twice, as alltoallv allows).
struct VectorLayout {
  std::vector<std::vector<std::size_t>> counts, send_displs, recv_displs;  // [rank][peer]
  std::vector<std::size_t> send_extent, recv_extent;                       // [rank]
  std::size_t recv_count(int r, int q) const { return counts[unsigned(q)][unsigned(r)]; }
};

inline VectorLayout vector_layout(std::size_t count, int n, uint64_t seed) {
  const auto un = static_cast<std::size_t>(n);
  VectorLayout v;
  v.counts.assign(un, std::vector<std::size_t>(un, 0));
  v.send_displs = v.recv_displs = v.counts;
  v.send_extent.assign(un, 0);
  v.recv_extent.assign(un, 0);
  const int deaf = static_cast<int>(seed % un), mute = (deaf + 1) % n;
  for (int r = 0; r < n; ++r) {
    for (int q = 0; q < n; ++q) {
      const uint64_t h = mix(seed ^ (static_cast<uint64_t>(r) << 20) ^ static_cast<uint64_t>(q));
      const bool empty = count == 0 || h % 4 == 0 || (n > 1 && q == deaf) || (n > 2 && r == mute);
      v.counts[unsigned(r)][unsigned(q)] = empty ? 0 : 1 + (h >> 8) % (2 * count);
    }
  }
  // Rank r's blocks of one side, in a seeded rotation of the peers.
  auto place = [&](int r, bool send, std::vector<std::size_t>& displs, std::size_t& extent) {
    std::size_t at = 0;
    const int start = static_cast<int>(mix(seed + static_cast<uint64_t>(r) * 2 + send) % un);
    for (int k = 0; k < n; ++k) {
      const int q = (start + (send ? k : n - k)) % n;
      const std::size_t m =
          send ? v.counts[unsigned(r)][unsigned(q)] : v.counts[unsigned(q)][unsigned(r)];
      at += mix(seed ^ static_cast<uint64_t>(r * 131 + q * 7 + send)) % 3;  // a gap
      displs[unsigned(q)] = at;
      at += m;
    }
    if (send && n > 2) displs[unsigned((r + 2) % n)] = displs[unsigned((r + 1) % n)];
    for (int q = 0; q < n; ++q) {
      const std::size_t m =
          send ? v.counts[unsigned(r)][unsigned(q)] : v.counts[unsigned(q)][unsigned(r)];
      extent = std::max(extent, displs[unsigned(q)] + m);
    }
  };
  for (int r = 0; r < n; ++r) {
    place(r, true, v.send_displs[unsigned(r)], v.send_extent[unsigned(r)]);
    place(r, false, v.recv_displs[unsigned(r)], v.recv_extent[unsigned(r)]);
  }
  return v;
}

// The send/recv pattern: in one group, rank r sends message 0 to r+1 and
// message 1 to r+k (mod n), and receives message 0 from r-1 and message 1
// from r-k. Message j of rank r has p2p_count(count, r, j) elements: half,
// one or one and a half times `count` by (rank, j), so the pairs differ.
inline std::size_t p2p_count(std::size_t count, int rank, int j) {
  return count * static_cast<std::size_t>(1 + (rank * 5 + j * 3) % 3) / 2;
}

}  // namespace colossus::test
