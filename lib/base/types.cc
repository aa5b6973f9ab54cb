#include "colossus/types.hpp"

#include <array>
#include <utility>

namespace colossus {

namespace {
// Names as nccl-tests prints them, indexed by enum value.
constexpr std::array<std::string_view, kNumDataTypes> kTypeNames = {
    "int8", "uint8", "int32",  "uint32",   "int64",  "uint64",
    "half", "float", "double", "bfloat16", "f8e4m3", "f8e5m2"};
constexpr std::array<std::string_view, kNumReduceOps> kOpNames = {"sum", "prod", "max", "min",
                                                                  "avg"};
// Extra spellings accepted on input (NCCL's aliases and C++-ish names).
constexpr std::pair<std::string_view, DataType> kTypeAliases[] = {
    {"char", DataType::Int8},       {"int", DataType::Int32},
    {"float16", DataType::Float16}, {"fp16", DataType::Float16},
    {"float32", DataType::Float32}, {"fp32", DataType::Float32},
    {"float64", DataType::Float64}, {"fp64", DataType::Float64},
    {"bf16", DataType::Bfloat16},   {"fp8e4m3", DataType::Float8e4m3},
    {"e4m3", DataType::Float8e4m3}, {"fp8e5m2", DataType::Float8e5m2},
    {"e5m2", DataType::Float8e5m2},
};
}  // namespace

std::string_view to_string(DataType t) {
  return is_valid(t) ? kTypeNames[static_cast<int>(t)] : std::string_view("invalid-dtype");
}

std::string_view to_string(ReduceOp op) {
  return is_valid(op) ? kOpNames[static_cast<int>(op)] : std::string_view("invalid-op");
}

bool parse_dtype(std::string_view name, DataType* out) {
  for (int i = 0; i < kNumDataTypes; ++i) {
    if (kTypeNames[i] == name) {
      *out = static_cast<DataType>(i);
      return true;
    }
  }
  for (const auto& [alias, type] : kTypeAliases) {
    if (alias == name) {
      *out = type;
      return true;
    }
  }
  return false;
}

bool parse_op(std::string_view name, ReduceOp* out) {
  for (int i = 0; i < kNumReduceOps; ++i) {
    if (kOpNames[i] == name) {
      *out = static_cast<ReduceOp>(i);
      return true;
    }
  }
  return false;
}

}  // namespace colossus
