// reduce_cpu.cc: the CPU reduction kernels behind reduce_copy.
//
// dtype x op is dispatched once per call to a template instantiation whose
// inner loop is a plain countable loop over __restrict pointers, so GCC and
// Clang vectorize it at -O3 with baseline x86-64 (SSE2) flags: the library is
// not built with -march=native. The ctest `reduce_vectorizes` holds that true.
// fp16, bf16 and fp8 go to the AVX2 + F16C kernels of reduce_x86*.cc instead where
// the CPU has them (the same bits, several times faster).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "reduce/functors.hpp"
#include "reduce/reduce.hpp"
#include "reduce/reduce_x86.hpp"

namespace colossus::reduce {
namespace {

// One element: widen, combine, optionally divide (Avg), narrow.
template <class T, class Op, bool kDivide>
struct Elementwise {
  using Traits = ReduceTraits<T>;
  using Compute = typename Traits::Compute;
  FuncDivide<Compute> divide;

  [[gnu::always_inline]] T operator()(T x, T y) const {
    Compute r = Op{}(Traits::load(x), Traits::load(y));
    if constexpr (kDivide) r = divide(r);
    return Traits::store(r);
  }
  [[gnu::always_inline]] T operator()(T x) const {
    Compute r = Traits::load(x);
    if constexpr (kDivide) r = divide(r);
    return Traits::store(r);
  }
};

// fp16 and bf16 travel through the loops two elements per 32-bit word. With
// SSE2 alone, widening 16-bit lanes to 32 and packing them back costs a dozen
// shuffles per vector (no pmovzx, no packusdw); a word's two halves are one
// shift or mask away. bf16 sums run about 1.8x faster this way, fp16 a few percent.
// Lanes stay lanes whatever the byte order, so this is endian-neutral.
template <class T>
inline constexpr bool kTwoPerWord = std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>;

// packed: alignment 1, so any element offset works; may_alias: it is used to
// read and write Half and BFloat16 objects.
struct __attribute__((packed, may_alias)) PairWord {
  std::uint32_t bits;
};

template <class T>
const PairWord* as_words(const T* p) {
  return reinterpret_cast<const PairWord*>(p);
}
template <class T>
PairWord* as_words(T* p) {
  return reinterpret_cast<PairWord*>(p);
}

template <class T, class Op, bool kDivide>
struct PairElementwise {
  Elementwise<T, Op, kDivide> f;

  static T lo(PairWord w) { return T{static_cast<std::uint16_t>(w.bits)}; }
  static T hi(PairWord w) { return T{static_cast<std::uint16_t>(w.bits >> 16)}; }
  static PairWord join(T lo, T hi) { return PairWord{lo.bits | std::uint32_t{hi.bits} << 16}; }

  [[gnu::always_inline]] PairWord operator()(PairWord x, PairWord y) const {
    return join(f(lo(x), lo(y)), f(hi(x), hi(y)));
  }
  [[gnu::always_inline]] PairWord operator()(PairWord x) const { return join(f(lo(x)), f(hi(x))); }
};

// The inner loops. Every buffer a loop writes is reached through exactly one
// __restrict pointer and never read through another, so `restrict` is honest
// and the vectorizer needs no runtime overlap checks; the caller picks the loop
// that matches how its buffers alias (exact aliasing is allowed, and reading
// one buffer through two const __restrict pointers is fine).
// The `reduce_vectorizes` test checks that each `for` between the markers is
// reported vectorized; keep the markers around the loops and nothing else.
// The loops are kept out of line (one call per block costs nothing) so that
// each instantiation stays a function of its own name, which that test reads.
#if defined(__clang__)
#define COLOSSUS_KERNEL __attribute__((noinline))
#elif defined(__GNUC__)
#define COLOSSUS_KERNEL __attribute__((noinline, noclone))
#else
#define COLOSSUS_KERNEL
#endif
// VECTORIZED-LOOPS-BEGIN
template <class T, class F>
COLOSSUS_KERNEL void loop_binary(const T* __restrict a, const T* __restrict b, T* __restrict out,
                                 std::size_t n, F f) {
  for (std::size_t i = 0; i < n; ++i) out[i] = f(a[i], b[i]);
}
template <class T, class F>
COLOSSUS_KERNEL void loop_into_first(T* __restrict io, const T* __restrict b, std::size_t n, F f) {
  for (std::size_t i = 0; i < n; ++i) io[i] = f(io[i], b[i]);
}
template <class T, class F>
COLOSSUS_KERNEL void loop_into_second(T* __restrict io, const T* __restrict a, std::size_t n, F f) {
  for (std::size_t i = 0; i < n; ++i) io[i] = f(a[i], io[i]);
}
template <class T, class F>
COLOSSUS_KERNEL void loop_self(T* __restrict io, std::size_t n, F f) {
  for (std::size_t i = 0; i < n; ++i) io[i] = f(io[i], io[i]);
}
template <class T, class F>
COLOSSUS_KERNEL void loop_unary(const T* __restrict a, T* __restrict out, std::size_t n, F f) {
  for (std::size_t i = 0; i < n; ++i) out[i] = f(a[i]);
}
template <class T, class F>
COLOSSUS_KERNEL void loop_unary_inplace(T* __restrict io, std::size_t n, F f) {
  for (std::size_t i = 0; i < n; ++i) io[i] = f(io[i]);
}
// VECTORIZED-LOOPS-END

template <class T, class F>
void binary_any_alias(const T* a, const T* b, T* out, std::size_t n, const F& f) {
  if (out != a && out != b) {
    loop_binary(a, b, out, n, f);  // a == b is fine: both only read
  } else if (a == b) {
    loop_self(out, n, f);
  } else if (out == a) {
    loop_into_first(out, b, n, f);
  } else {
    loop_into_second(out, a, n, f);
  }
}

template <class T, class F>
void unary_any_alias(const T* a, T* out, std::size_t n, const F& f) {
  if (out == a) {
    loop_unary_inplace(out, n, f);
  } else {
    loop_unary(a, out, n, f);
  }
}

// Runs fill(begin, len), which writes out0[begin, begin + len), over the whole
// range. With a distinct second output it goes block by block and copies each
// block of out0 to out1 while it is still in L1: the inputs are read from
// memory once, and a block's inputs are consumed before out1 (which may alias
// an input exactly) overwrites them.
template <class T, class Fill>
void fill_outputs(T* out0, T* out1, std::size_t count, Fill fill) {
  if (out1 == nullptr || out1 == out0) {
    fill(std::size_t{0}, count);
    return;
  }
  constexpr std::size_t kBlock = 16384 / sizeof(T);
  for (std::size_t i = 0; i < count; i += kBlock) {
    const std::size_t len = std::min(kBlock, count - i);
    fill(i, len);
    std::memcpy(out1 + i, out0 + i, len * sizeof(T));
  }
}

// out[0, n) = f(a, b), or f(a) when kBinary is false: whole words first where
// the type goes two per word, then the odd element.
template <bool kBinary, class T, class Op, bool kDivide>
void compute(const T* a, const T* b, T* out, std::size_t n, const Elementwise<T, Op, kDivide>& f) {
  std::size_t done = 0;
  if constexpr (kTwoPerWord<T>) {
    const PairElementwise<T, Op, kDivide> pair{f};
    done = n / 2 * 2;
    if constexpr (kBinary) {
      binary_any_alias(as_words(a), as_words(b), as_words(out), n / 2, pair);
    } else {
      unary_any_alias(as_words(a), as_words(out), n / 2, pair);
    }
  }
  if constexpr (kBinary) {
    binary_any_alias(a + done, b + done, out + done, n - done, f);
  } else {
    unary_any_alias(a + done, out + done, n - done, f);
  }
}

template <class T, class Op, bool kDivide>
void reduce_typed(const ReduceCopyArgs& args) {
  const auto* a = static_cast<const T*>(args.in0);
  const auto* b = static_cast<const T*>(args.in1);
  auto* out0 = static_cast<T*>(args.out0);
  auto* out1 = static_cast<T*>(args.out1);
  using Compute = typename ReduceTraits<T>::Compute;
  const Elementwise<T, Op, kDivide> f{FuncDivide<Compute>(args.divisor)};
  fill_outputs(out0, out1, args.count, [&](std::size_t i, std::size_t len) {
    compute<true>(a + i, b + i, out0 + i, len, f);
  });
}

// in1 == nullptr with a divisor: out = in0 / divisor.
template <class T>
void scale_typed(const ReduceCopyArgs& args) {
  const auto* a = static_cast<const T*>(args.in0);
  auto* out0 = static_cast<T*>(args.out0);
  auto* out1 = static_cast<T*>(args.out1);
  using Compute = typename ReduceTraits<T>::Compute;
  const Elementwise<T, FuncSum<Compute>, true> f{FuncDivide<Compute>(args.divisor)};
  fill_outputs(out0, out1, args.count, [&](std::size_t i, std::size_t len) {
    compute<false>(a + i, a + i, out0 + i, len, f);
  });
}

// in1 == nullptr without a divisor: a copy, the same for every dtype.
void copy_bytes(const ReduceCopyArgs& args) {
  const auto* src = static_cast<const unsigned char*>(args.in0);
  auto* out0 = static_cast<unsigned char*>(args.out0);
  auto* out1 = static_cast<unsigned char*>(args.out1);
  fill_outputs(out0, out1, args.count * dtype_size(args.dtype),
               [&](std::size_t i, std::size_t len) {
                 if (out0 != src) std::memcpy(out0 + i, src + i, len);
               });
}

template <class T, class Op>
void reduce_with(const ReduceCopyArgs& args) {
  if (args.divisor > 1) {
    reduce_typed<T, Op, true>(args);
  } else {
    reduce_typed<T, Op, false>(args);
  }
}

template <class T>
void reduce_dtype(const ReduceCopyArgs& args) {
  using Compute = typename ReduceTraits<T>::Compute;
  if (args.in1 == nullptr) {
    scale_typed<T>(args);  // the plain copy was handled before dispatch
    return;
  }
  switch (args.op) {
    case ReduceOp::Sum:
    case ReduceOp::Avg: reduce_with<T, FuncSum<Compute>>(args); return;
    case ReduceOp::Prod: reduce_with<T, FuncProd<Compute>>(args); return;
    case ReduceOp::Max: reduce_with<T, FuncMax<Compute>>(args); return;
    case ReduceOp::Min: reduce_with<T, FuncMin<Compute>>(args); return;
  }
}

// fp16, bf16 or fp8 through an x86 kernel (any aliasing; out1 as for the loops).
void run_half_kernel(const ReduceCopyArgs& args, x86::HalfKernel kernel) {
  const std::size_t size = dtype_size(args.dtype);
  const auto* a = static_cast<const unsigned char*>(args.in0);
  const auto* b = static_cast<const unsigned char*>(args.in1);
  auto* out0 = static_cast<unsigned char*>(args.out0);
  auto* out1 = static_cast<unsigned char*>(args.out1);
  // fill_outputs counts bytes here; the kernel counts elements.
  fill_outputs(out0, out1, args.count * size, [&](std::size_t i, std::size_t len) {
    kernel(a + i, b == nullptr ? nullptr : b + i, out0 + i, len / size, args.divisor);
  });
}

// reduce_copy, with (use_x86) or without the x86 kernels.
void reduce_copy_on(const ReduceCopyArgs& args, bool use_x86) {
  if (args.count == 0) return;
  if (args.in1 == nullptr && args.divisor <= 1) {
    copy_bytes(args);
    return;
  }
  if (use_x86) {
    if (const x86::HalfKernel kernel = x86::half_kernel(args)) {
      run_half_kernel(args, kernel);
      return;
    }
  }
  switch (args.dtype) {
    case DataType::Int8: reduce_dtype<std::int8_t>(args); return;
    case DataType::Uint8: reduce_dtype<std::uint8_t>(args); return;
    case DataType::Int32: reduce_dtype<std::int32_t>(args); return;
    case DataType::Uint32: reduce_dtype<std::uint32_t>(args); return;
    case DataType::Int64: reduce_dtype<std::int64_t>(args); return;
    case DataType::Uint64: reduce_dtype<std::uint64_t>(args); return;
    case DataType::Float16: reduce_dtype<Half>(args); return;
    case DataType::Float32: reduce_dtype<float>(args); return;
    case DataType::Float64: reduce_dtype<double>(args); return;
    case DataType::Bfloat16: reduce_dtype<BFloat16>(args); return;
    case DataType::Float8e4m3: reduce_dtype<Float8E4M3>(args); return;
    case DataType::Float8e5m2: reduce_dtype<Float8E5M2>(args); return;
  }
}

}  // namespace

void reduce_copy(const ReduceCopyArgs& args) { reduce_copy_on(args, true); }

void reduce_copy_portable(const ReduceCopyArgs& args) { reduce_copy_on(args, false); }

}  // namespace colossus::reduce
