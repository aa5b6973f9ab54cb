// reduce_copy.cuh: the fused reduce-copy as a __device__ function (nvcc only).
//
// reduce_copy<T, Op>(operands, thread, nthreads) is called by every thread of
// a group (a block, a grid, a channel's warps in the device-side executor);
// thread is 0..nthreads-1 within it and all of them must call it with the
// same operands. It returns when this thread's share is written; the caller
// synchronizes the group (or releases a flag) before anyone reads the output.
// Semantics and contract: reduce_cuda.hpp; per-element arithmetic: fold.hpp.
//
// Layout of the work: when every buffer has the same address modulo 16, a
// scalar head brings them to a 16-byte boundary, the body moves 16-byte
// vectors (each thread kUnroll of them per input at a time, coalesced across
// the warp: vector v + u * nthreads), and a scalar tail ends it. Otherwise
// the whole range is scalar. Loads are plain (no .nc / __ldg): a peer may
// have written the data during this kernel, after a flag the caller acquired.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "reduce/cuda/reduce_cuda.hpp"
#include "reduce/fold.hpp"

namespace colossus::reduce::gpu {

namespace detail {

template <class T>
__device__ __forceinline__ std::uint64_t to_bits(T v) {
  if constexpr (std::is_same_v<T, float>) {
    return __float_as_uint(v);
  } else if constexpr (std::is_same_v<T, double>) {
    return static_cast<std::uint64_t>(__double_as_longlong(v));
  } else if constexpr (std::is_integral_v<T>) {
    return static_cast<std::make_unsigned_t<T>>(v);
  } else {
    return v.bits;  // Half, BFloat16, Float8E4M3, Float8E5M2
  }
}

template <class T>
__device__ __forceinline__ T from_bits(std::uint64_t b) {
  if constexpr (std::is_same_v<T, float>) {
    return __uint_as_float(static_cast<std::uint32_t>(b));
  } else if constexpr (std::is_same_v<T, double>) {
    return __longlong_as_double(static_cast<long long>(b));
  } else if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(b);
  } else {
    return T{static_cast<decltype(T{}.bits)>(b)};
  }
}

__device__ __forceinline__ std::uint32_t word(const uint4& v, int i) {
  return i == 0 ? v.x : i == 1 ? v.y : i == 2 ? v.z : v.w;  // i is a constant after unrolling
}

// Element e of a 16-byte pack.
template <class T>
__device__ __forceinline__ T element(const uint4& v, int e) {
  if constexpr (sizeof(T) == 8) {
    return from_bits<T>(word(v, 2 * e) | std::uint64_t{word(v, 2 * e + 1)} << 32);
  } else {
    constexpr int kPerWord = 4 / sizeof(T);
    constexpr std::uint32_t kMask = sizeof(T) == 4 ? ~0u : (1u << (8 * sizeof(T))) - 1;
    const int shift = (e % kPerWord) * 8 * static_cast<int>(sizeof(T));
    return from_bits<T>((word(v, e / kPerWord) >> shift) & kMask);
  }
}

// A 16-byte pack from its elements.
template <class T, int N>
__device__ __forceinline__ uint4 pack(const T (&x)[N]) {
  std::uint32_t w[4] = {0, 0, 0, 0};
#pragma unroll
  for (int e = 0; e < N; ++e) {
    const std::uint64_t b = to_bits(x[e]);
    if constexpr (sizeof(T) == 8) {
      w[2 * e] = static_cast<std::uint32_t>(b);
      w[2 * e + 1] = static_cast<std::uint32_t>(b >> 32);
    } else {
      constexpr int kPerWord = 4 / sizeof(T);
      w[e / kPerWord] |= static_cast<std::uint32_t>(b) << ((e % kPerWord) * 8 * sizeof(T));
    }
  }
  return make_uint4(w[0], w[1], w[2], w[3]);
}

__device__ __forceinline__ uint4 load16(const void* p) { return *static_cast<const uint4*>(p); }
// (__stwb: a plain write-back store, always one 16-byte st.global.v4; a plain
// assignment is sometimes split into four 4-byte stores by nvcc.)
__device__ __forceinline__ void store16(void* p, uint4 v) { __stwb(static_cast<uint4*>(p), v); }

// 16-byte vectors in flight per thread and input: enough independent loads to
// cover memory latency, few enough that the fp32 accumulators of 16 fp8
// elements per vector stay in registers.
template <class T>
inline constexpr int kUnroll = sizeof(T) == 1   ? 1
                               : sizeof(T) == 2 ? 2
                                                : 4;

}  // namespace detail

// out[o][i] = fold(in[0][i], ..., in[k-1][i]) for this thread's share of i.
template <class T, class Op>
__device__ __forceinline__ void reduce_copy(const Operands& a, unsigned thread, unsigned nthreads) {
  using F = Fold<T, Op>;
  using C = typename F::Compute;
  constexpr int N = 16 / sizeof(T);
  constexpr int U = detail::kUnroll<T>;
  const int nin = a.num_inputs, nout = a.num_outputs, divisor = a.divisor;
  const std::size_t count = a.count;
  const bool copy = nin == 1 && divisor <= 1;

  const T* in[kMaxInputs];
  T* out[kMaxOutputs];
  const std::uintptr_t mis = reinterpret_cast<std::uintptr_t>(a.in[0]) & 15;
  bool same = true;
#pragma unroll
  for (int j = 0; j < kMaxInputs; ++j) {
    in[j] = static_cast<const T*>(a.in[j]);
    if (j < nin) same &= (reinterpret_cast<std::uintptr_t>(in[j]) & 15) == mis;
  }
#pragma unroll
  for (int o = 0; o < kMaxOutputs; ++o) {
    out[o] = static_cast<T*>(a.out[o]);
    if (o < nout) same &= (reinterpret_cast<std::uintptr_t>(out[o]) & 15) == mis;
  }

  auto scalar = [&](std::size_t i) {
    T r;
    if (copy) {
      r = in[0][i];
    } else {
      C acc = F::first(in[0][i]);
#pragma unroll
      for (int j = 1; j < kMaxInputs; ++j)
        if (j < nin) acc = F::next(acc, in[j][i]);
      r = F::finish(acc, divisor);
    }
#pragma unroll
    for (int o = 0; o < kMaxOutputs; ++o)
      if (o < nout) out[o][i] = r;
  };

  // Scalar head up to the 16-byte boundary (everything when misaligned).
  std::size_t head = count;
  if (same) {
    head = ((16 - mis) & 15) / sizeof(T);
    if (head > count) head = count;
  }
  for (std::size_t i = thread; i < head; i += nthreads) scalar(i);
  if (!same) return;

  // The body on 16-byte vectors, from element `head`.
  const std::size_t nvec = (count - head) / N;
  const std::size_t stride = static_cast<std::size_t>(nthreads) * U;
  for (std::size_t v0 = thread; v0 < nvec; v0 += stride) {
    const std::size_t off = head + v0 * N;  // element offset of this thread's vector u = 0
    const std::size_t step = static_cast<std::size_t>(nthreads) * N;
    if (copy) {
      uint4 p[U];
#pragma unroll
      for (int u = 0; u < U; ++u)
        if (v0 + u * nthreads < nvec) p[u] = detail::load16(in[0] + off + u * step);
#pragma unroll
      for (int u = 0; u < U; ++u)
        if (v0 + u * nthreads < nvec) {
#pragma unroll
          for (int o = 0; o < kMaxOutputs; ++o)
            if (o < nout) detail::store16(out[o] + off + u * step, p[u]);
        }
      continue;
    }
    C acc[U][N];
    {
      uint4 p[U];
#pragma unroll
      for (int u = 0; u < U; ++u)
        if (v0 + u * nthreads < nvec) p[u] = detail::load16(in[0] + off + u * step);
#pragma unroll
      for (int u = 0; u < U; ++u)
#pragma unroll
        for (int e = 0; e < N; ++e) acc[u][e] = F::first(detail::element<T>(p[u], e));
    }
#pragma unroll
    for (int j = 1; j < kMaxInputs; ++j) {
      if (j >= nin) break;
      uint4 p[U];
#pragma unroll
      for (int u = 0; u < U; ++u)
        if (v0 + u * nthreads < nvec) p[u] = detail::load16(in[j] + off + u * step);
#pragma unroll
      for (int u = 0; u < U; ++u)
#pragma unroll
        for (int e = 0; e < N; ++e) acc[u][e] = F::next(acc[u][e], detail::element<T>(p[u], e));
    }
#pragma unroll
    for (int u = 0; u < U; ++u) {
      if (v0 + u * nthreads >= nvec) break;  // later u are further out
      T r[N];
#pragma unroll
      for (int e = 0; e < N; ++e) r[e] = F::finish(acc[u][e], divisor);
      const uint4 packed = detail::pack<T, N>(r);
#pragma unroll
      for (int o = 0; o < kMaxOutputs; ++o)
        if (o < nout) detail::store16(out[o] + off + u * step, packed);
    }
  }

  // Scalar tail.
  for (std::size_t i = head + nvec * N + thread; i < count; i += nthreads) scalar(i);
}

}  // namespace colossus::reduce::gpu
