// fold_reference.hpp: the CUDA reduce-copy's expected output, computed on the host.
//
// fold_reference runs fold.hpp's per-element fold (the code the kernel runs,
// here built by the host compiler) over whole buffers. random_elements makes
// inputs that exercise it: mostly moderate values (sums and products stay in
// range, so the rounding is what is tested), some raw bit patterns (NaN, inf,
// subnormals, huge values). same_element compares bit for bit, except that
// any NaN equals any NaN of a float type: payloads differ between CPUs and
// GPUs (an NVIDIA GPU's fp32 add returns the canonical NaN 0x7fffffff, x86
// keeps an operand's payload, and an auto-vectorized loop may swap operands).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>

#include "colossus/types.hpp"
#include "reduce/dispatch.hpp"
#include "reduce/fold.hpp"
#include "support/values.hpp"

namespace colossus::reduce::testing {

inline constexpr int kMaxFoldInputs = 8;

// out[i] = Fold<T, Op>::apply(in[0][i], ..., in[k-1][i], divisor), i < count.
inline void fold_reference(DataType dtype, ReduceOp op, const void* const* in, int k, int divisor,
                           void* out, std::size_t count) {
  dispatch_dtype_op(dtype, op, [&](auto type_tag, auto op_tag) {
    using T = typename decltype(type_tag)::type;
    using Op = typename decltype(op_tag)::type;
    T x[kMaxFoldInputs];
    for (std::size_t i = 0; i < count; ++i) {
      for (int j = 0; j < k; ++j) std::memcpy(&x[j], static_cast<const T*>(in[j]) + i, sizeof(T));
      const T r = Fold<T, Op>::apply(x, k, divisor);
      std::memcpy(static_cast<T*>(out) + i, &r, sizeof(T));
    }
  });
}

inline void random_elements(DataType dtype, void* buf, std::size_t count, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  const std::size_t size = dtype_size(dtype);
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint64_t r = rng();
    if (!is_floating(dtype) || r % 8 == 0) {
      std::memcpy(static_cast<unsigned char*>(buf) + i * size, &r, size);  // raw bits
    } else {
      const double v = (static_cast<int>(r % 13) - 6) * std::ldexp(0.25, static_cast<int>(r >> 60));
      colossus::test::store(dtype, buf, i, v);
    }
  }
}

inline bool same_element(DataType dtype, const void* a, const void* b, std::size_t i) {
  const std::size_t size = dtype_size(dtype);
  const auto* pa = static_cast<const unsigned char*>(a) + i * size;
  const auto* pb = static_cast<const unsigned char*>(b) + i * size;
  if (std::memcmp(pa, pb, size) == 0) return true;
  return is_floating(dtype) && std::isnan(colossus::test::load(dtype, a, i)) &&
         std::isnan(colossus::test::load(dtype, b, i));
}

// Index of the first element that differs, or count when none does.
inline std::size_t first_difference(DataType dtype, const void* a, const void* b,
                                    std::size_t count) {
  for (std::size_t i = 0; i < count; ++i)
    if (!same_element(dtype, a, b, i)) return i;
  return count;
}

}  // namespace colossus::reduce::testing
