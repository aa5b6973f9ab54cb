// scale_cpu.cc: the CPU scaling kernel (see scale.hpp).
//
// One plain countable loop per dtype over __restrict pointers (in place and
// out of place), so the compiler vectorizes what the element arithmetic
// allows (integers, fp32 and fp64; the narrow floats' bit-exact conversions
// stay mostly scalar).
#include <cstring>

#include "reduce/dispatch.hpp"
#include "reduce/functors.hpp"
#include "reduce/scale.hpp"

namespace colossus::reduce {
namespace {

template <class T>
[[gnu::noinline]] void scale_into(const T* __restrict in, T* __restrict out, std::size_t n,
                                  FuncScale<T> f) {
  for (std::size_t i = 0; i < n; ++i) out[i] = f(in[i]);
}

template <class T>
[[gnu::noinline]] void scale_in_place(T* __restrict io, std::size_t n, FuncScale<T> f) {
  for (std::size_t i = 0; i < n; ++i) io[i] = f(io[i]);
}

}  // namespace

void scale(DataType dtype, const void* in, void* out, std::size_t count, const void* scalar) {
  if (count == 0) return;
  dispatch_dtype_op(dtype, ReduceOp::Sum, [&](auto type_tag, auto) {
    using T = typename decltype(type_tag)::type;
    T s;
    std::memcpy(&s, scalar, sizeof(T));
    const FuncScale<T> f(s);
    if (in == out) {
      scale_in_place(static_cast<T*>(out), count, f);
    } else {
      scale_into(static_cast<const T*>(in), static_cast<T*>(out), count, f);
    }
  });
}

}  // namespace colossus::reduce
