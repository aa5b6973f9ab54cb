// convert.hpp: torch's element types and reduce ops as colossus's, and the
// staging of tensors the library cannot take as they are.
#pragma once

#include <torch/extension.h>

#include <cstddef>
#include <optional>
#include <string>

#include <torch/csrc/distributed/c10d/Types.hpp>

#include "colossus/types.hpp"

namespace colossus_torch {

// The element type a reduction runs in. Throws (ValueError in Python) for a
// dtype colossus cannot reduce, naming it. Complex tensors are reduced as
// pairs of reals (see reducible()).
colossus::DataType reduce_type(const at::Tensor& t, const char* call);

// A tensor as the library reduces it: complex as its real view (sum and avg
// only), everything else unchanged.
at::Tensor reducible(const at::Tensor& t, const c10d::ReduceOp& op, const char* call);

// What a c10d ReduceOp becomes.
struct Reduction {
  colossus::ReduceOp op = colossus::ReduceOp::Sum;
  // PREMUL_SUM: the factor as one element of the tensor's dtype, on the host.
  std::optional<at::Tensor> premul_scalar;
  // BAND, BOR, BXOR: not in the library; the backend gathers and folds them.
  std::optional<c10d::ReduceOp::RedOpType> bitwise;
};
Reduction reduction(const c10d::ReduceOp& op, const at::Tensor& t, const char* call);

// Data movement (broadcast, gathers, all-to-all, send/recv) needs no element
// type: every dtype moves as bytes.
inline std::size_t byte_count(const at::Tensor& t) {
  return static_cast<std::size_t>(t.numel()) * t.element_size();
}

// A tensor the library writes into. `buf` is the tensor itself when it is
// contiguous, else a contiguous stand-in that copy_back() writes to it.
struct Output {
  at::Tensor user;
  at::Tensor buf;
  explicit Output(const at::Tensor& t);
  void copy_back();
};

std::string dtype_name(const at::Tensor& t);

}  // namespace colossus_torch
