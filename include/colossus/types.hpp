// colossus/types.hpp: element types and reduction operators.
//
// The numeric values are NCCL's (ncclDataType_t, ncclRedOp_t), so the
// NCCL-compatible C layer converts by a cast and nothing else.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace colossus {

enum class DataType : int {
  Int8 = 0,
  Uint8 = 1,
  Int32 = 2,
  Uint32 = 3,
  Int64 = 4,
  Uint64 = 5,
  Float16 = 6,
  Float32 = 7,
  Float64 = 8,
  Bfloat16 = 9,
  Float8e4m3 = 10,
  Float8e5m2 = 11,
};
inline constexpr int kNumDataTypes = 12;

enum class ReduceOp : int {
  Sum = 0,
  Prod = 1,
  Max = 2,
  Min = 3,
  Avg = 4,  // sum, then divided by the number of ranks (integers truncate toward zero)
};
inline constexpr int kNumReduceOps = 5;

// Bytes per element; 0 for a value outside the enum.
constexpr std::size_t dtype_size(DataType t) {
  switch (t) {
    case DataType::Int8:
    case DataType::Uint8:
    case DataType::Float8e4m3:
    case DataType::Float8e5m2: return 1;
    case DataType::Float16:
    case DataType::Bfloat16: return 2;
    case DataType::Int32:
    case DataType::Uint32:
    case DataType::Float32: return 4;
    case DataType::Int64:
    case DataType::Uint64:
    case DataType::Float64: return 8;
  }
  return 0;
}

constexpr bool is_valid(DataType t) { return dtype_size(t) != 0; }
constexpr bool is_valid(ReduceOp op) {
  return static_cast<int>(op) >= 0 && static_cast<int>(op) < kNumReduceOps;
}
constexpr bool is_floating(DataType t) {
  return t == DataType::Float16 || t == DataType::Float32 || t == DataType::Float64 ||
         t == DataType::Bfloat16 || t == DataType::Float8e4m3 || t == DataType::Float8e5m2;
}

// Short names as nccl-tests prints them ("float", "bfloat16", "sum", ...).
std::string_view to_string(DataType t);
std::string_view to_string(ReduceOp op);
// Inverse of to_string, also accepting NCCL's aliases ("half", "double", "int", "char").
// Returns false for an unknown name.
bool parse_dtype(std::string_view name, DataType* out);
bool parse_op(std::string_view name, ReduceOp* out);

}  // namespace colossus
