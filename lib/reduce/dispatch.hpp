// dispatch.hpp: (DataType, ReduceOp) at run time -> (storage type, functor) at compile time.
//
// dispatch_dtype_op(dtype, op, f) calls f(TypeTag<T>{}, TypeTag<Op>{}) with
// T the storage type of dtype and Op the combining functor of op on T's
// compute type (Avg -> Sum: the divisor is the caller's). Usable on the host
// and, under nvcc, on the device. Returns false, calling nothing, for a value
// outside the enums.
#pragma once

#include <cstdint>

#include "base/hd.hpp"
#include "colossus/types.hpp"
#include "reduce/functors.hpp"

namespace colossus::reduce {

template <class T>
struct TypeTag {
  using type = T;
};

// (nvcc: f may be a host-only callable when called from host code.)
#if defined(__CUDACC__)
#pragma nv_exec_check_disable
#endif
template <class T, class F>
COLOSSUS_HD inline bool dispatch_op(ReduceOp op, F&& f) {
  using C = typename ReduceTraits<T>::Compute;
  switch (op) {
    case ReduceOp::Sum:
    case ReduceOp::Avg: f(TypeTag<T>{}, TypeTag<FuncSum<C>>{}); return true;
    case ReduceOp::Prod: f(TypeTag<T>{}, TypeTag<FuncProd<C>>{}); return true;
    case ReduceOp::Max: f(TypeTag<T>{}, TypeTag<FuncMax<C>>{}); return true;
    case ReduceOp::Min: f(TypeTag<T>{}, TypeTag<FuncMin<C>>{}); return true;
  }
  return false;
}

#if defined(__CUDACC__)
#pragma nv_exec_check_disable
#endif
template <class F>
COLOSSUS_HD inline bool dispatch_dtype_op(DataType dtype, ReduceOp op, F&& f) {
  switch (dtype) {
    case DataType::Int8: return dispatch_op<std::int8_t>(op, f);
    case DataType::Uint8: return dispatch_op<std::uint8_t>(op, f);
    case DataType::Int32: return dispatch_op<std::int32_t>(op, f);
    case DataType::Uint32: return dispatch_op<std::uint32_t>(op, f);
    case DataType::Int64: return dispatch_op<std::int64_t>(op, f);
    case DataType::Uint64: return dispatch_op<std::uint64_t>(op, f);
    case DataType::Float16: return dispatch_op<Half>(op, f);
    case DataType::Float32: return dispatch_op<float>(op, f);
    case DataType::Float64: return dispatch_op<double>(op, f);
    case DataType::Bfloat16: return dispatch_op<BFloat16>(op, f);
    case DataType::Float8e4m3: return dispatch_op<Float8E4M3>(op, f);
    case DataType::Float8e5m2: return dispatch_op<Float8E5M2>(op, f);
  }
  return false;
}

}  // namespace colossus::reduce
