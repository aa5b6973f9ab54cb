// convert.cc: see convert.hpp.
#include "convert.hpp"

namespace colossus_torch {

using colossus::DataType;

std::string dtype_name(const at::Tensor& t) {
  return "torch." + std::string(c10::getDtypeNames(t.scalar_type()).first);
}

colossus::DataType reduce_type(const at::Tensor& t, const char* call) {
  switch (t.scalar_type()) {
    case at::kFloat: return DataType::Float32;
    case at::kDouble: return DataType::Float64;
    case at::kHalf: return DataType::Float16;
    case at::kBFloat16: return DataType::Bfloat16;
    case at::kChar: return DataType::Int8;
    case at::kByte:
    case at::kBool: return DataType::Uint8;
    case at::kInt: return DataType::Int32;
    case at::kLong: return DataType::Int64;
    case at::kUInt32: return DataType::Uint32;
    case at::kUInt64: return DataType::Uint64;
    case at::kFloat8_e4m3fn: return DataType::Float8e4m3;
    case at::kFloat8_e5m2: return DataType::Float8e5m2;
    default: break;
  }
  TORCH_CHECK_VALUE(false, "colossus: ", call, " cannot reduce tensors of dtype ", dtype_name(t),
                    " (colossus reduces float32/64, float16, bfloat16, float8_e4m3fn/e5m2, "
                    "int8/32/64, uint8/32/64, bool and complex as pairs of reals)");
}

at::Tensor reducible(const at::Tensor& t, const c10d::ReduceOp& op, const char* call) {
  if (!t.is_complex()) return t;
  // Sums of pairs of reals are sums of complex numbers; nothing else is.
  TORCH_CHECK_VALUE(op == c10d::ReduceOp::SUM || op == c10d::ReduceOp::AVG, "colossus: ", call,
                    " on complex tensors supports SUM and AVG only");
  return at::view_as_real(t);
}

Reduction reduction(const c10d::ReduceOp& op, const at::Tensor& t, const char* call) {
  Reduction r;
  const bool is_bool = t.scalar_type() == at::kBool;
  switch (op.op_) {
    // A bool is 0 or 1 in a byte: logical or is max, logical and is min.
    case c10d::ReduceOp::SUM:
      r.op = is_bool ? colossus::ReduceOp::Max : colossus::ReduceOp::Sum;
      break;
    case c10d::ReduceOp::PRODUCT:
      r.op = is_bool ? colossus::ReduceOp::Min : colossus::ReduceOp::Prod;
      break;
    case c10d::ReduceOp::MIN: r.op = colossus::ReduceOp::Min; break;
    case c10d::ReduceOp::MAX: r.op = colossus::ReduceOp::Max; break;
    case c10d::ReduceOp::AVG:
      TORCH_CHECK_VALUE(!is_bool, "colossus: ", call, ": AVG is not defined for bool tensors");
      r.op = colossus::ReduceOp::Avg;
      break;
    case c10d::ReduceOp::PREMUL_SUM: {
      TORCH_CHECK_VALUE(t.is_floating_point(), "colossus: ", call,
                        ": PREMUL_SUM needs a floating-point tensor, not ", dtype_name(t));
      auto* s = dynamic_cast<c10d::NCCLPreMulSumSupplement*>(op.supplement_.get());
      TORCH_CHECK_VALUE(s != nullptr, "colossus: ", call, ": PREMUL_SUM without its factor");
      // One element of the tensor's dtype on the host, as the library reads it.
      at::Tensor factor =
          s->tensor_factor.defined()
              ? s->tensor_factor.detach().reshape({}).to(at::kCPU, t.scalar_type())
              : at::scalar_tensor(s->double_factor, at::TensorOptions().dtype(t.scalar_type()));
      r.premul_scalar = factor.contiguous();
      r.op = colossus::ReduceOp::Sum;
      break;
    }
    case c10d::ReduceOp::BAND:
    case c10d::ReduceOp::BOR:
    case c10d::ReduceOp::BXOR:
      TORCH_CHECK_VALUE(!t.is_floating_point() && !t.is_complex(), "colossus: ", call,
                        ": bitwise ops need integer or bool tensors, not ", dtype_name(t));
      r.bitwise = op.op_;
      break;
    default: TORCH_CHECK_VALUE(false, "colossus: ", call, ": unknown ReduceOp ", int(op.op_));
  }
  return r;
}

Output::Output(const at::Tensor& t) : user(t), buf(t.is_contiguous() ? t : t.contiguous()) {}

void Output::copy_back() {
  if (!buf.is_same(user)) user.copy_(buf);
}

}  // namespace colossus_torch
