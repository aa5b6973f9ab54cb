#include "colossus-sim/reference.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "reduce/float_convert.hpp"

namespace colossus::sim_tool {

namespace {

// Every integer in [0, limit] is exact in the type (a power of two, so that
// InputRule's bounds divide it).
std::size_t exact_limit(DataType t) {
  switch (t) {
    case DataType::Int8: return 64;
    case DataType::Uint8: return 128;
    case DataType::Int32:
    case DataType::Uint32:
    case DataType::Int64:
    case DataType::Uint64: return std::size_t{1} << 20;
    case DataType::Float16: return 2048;
    case DataType::Float32:
    case DataType::Float64: return std::size_t{1} << 24;
    case DataType::Bfloat16: return 256;
    case DataType::Float8e4m3: return 16;
    case DataType::Float8e5m2: return 8;
  }
  return 1;
}

}  // namespace

bool reduces(plan::Collective c) {
  return c == plan::Collective::AllReduce || c == plan::Collective::ReduceScatter ||
         c == plan::Collective::Reduce;
}

Reference::Reference(const plan::CollArgs& a, const InputRule& rule) : args_(a), rule_(rule) {
  if (!reduces(a.coll)) return;
  sums_.assign(plan::send_count(a), 0.0);
  for (int r = 0; r < a.nranks; ++r) {
    for (std::size_t i = 0; i < sums_.size(); ++i) sums_[i] += rule.value(r, i);
  }
}

double Reference::at(int rank, std::size_t j) const {
  switch (args_.coll) {
    case plan::Collective::AllReduce:
    case plan::Collective::Reduce: return sums_[j];
    case plan::Collective::ReduceScatter:
      return sums_[static_cast<std::size_t>(rank) * args_.count + j];
    case plan::Collective::AllGather:
      return rule_.value(static_cast<int>(j / args_.count), j % args_.count);
    case plan::Collective::Broadcast: return rule_.value(args_.root, j);
    default: break;  // --loopback runs the five collectives above only (options.cc)
  }
  return NAN;
}

InputRule::InputRule(DataType type, int nranks, bool reduces) {
  const std::size_t limit = exact_limit(type);
  const std::size_t terms = reduces ? static_cast<std::size_t>(nranks) : 1;
  while (bound_ * 2 <= 64 && bound_ * 2 * terms <= limit) bound_ *= 2;
  // When even one 1 per rank overflows the exact range (64 ranks summing
  // f8e5m2), only every stride-th rank contributes to a given element.
  stride_ = std::max<std::size_t>(1, (terms * bound_ + limit - 1) / limit);
}

double load_element(DataType t, const void* base, std::size_t i) {
  using namespace colossus::reduce;
  switch (t) {
    case DataType::Int8: return static_cast<const std::int8_t*>(base)[i];
    case DataType::Uint8: return static_cast<const std::uint8_t*>(base)[i];
    case DataType::Int32: return static_cast<const std::int32_t*>(base)[i];
    case DataType::Uint32: return static_cast<const std::uint32_t*>(base)[i];
    case DataType::Int64: return static_cast<double>(static_cast<const std::int64_t*>(base)[i]);
    case DataType::Uint64: return static_cast<double>(static_cast<const std::uint64_t*>(base)[i]);
    case DataType::Float16: return half_to_float(static_cast<const Half*>(base)[i]);
    case DataType::Float32: return static_cast<const float*>(base)[i];
    case DataType::Float64: return static_cast<const double*>(base)[i];
    case DataType::Bfloat16: return bf16_to_float(static_cast<const BFloat16*>(base)[i]);
    case DataType::Float8e4m3: return e4m3_to_float(static_cast<const Float8E4M3*>(base)[i]);
    case DataType::Float8e5m2: return e5m2_to_float(static_cast<const Float8E5M2*>(base)[i]);
  }
  return NAN;
}

void store_element(DataType t, void* base, std::size_t i, double v) {
  using namespace colossus::reduce;
  const auto f = static_cast<float>(v);
  switch (t) {
    case DataType::Int8: static_cast<std::int8_t*>(base)[i] = static_cast<std::int8_t>(v); return;
    case DataType::Uint8:
      static_cast<std::uint8_t*>(base)[i] = static_cast<std::uint8_t>(v);
      return;
    case DataType::Int32:
      static_cast<std::int32_t*>(base)[i] = static_cast<std::int32_t>(v);
      return;
    case DataType::Uint32:
      static_cast<std::uint32_t*>(base)[i] = static_cast<std::uint32_t>(v);
      return;
    case DataType::Int64:
      static_cast<std::int64_t*>(base)[i] = static_cast<std::int64_t>(v);
      return;
    case DataType::Uint64:
      static_cast<std::uint64_t*>(base)[i] = static_cast<std::uint64_t>(v);
      return;
    case DataType::Float16: static_cast<Half*>(base)[i] = float_to_half(f); return;
    case DataType::Float32: static_cast<float*>(base)[i] = f; return;
    case DataType::Float64: static_cast<double*>(base)[i] = v; return;
    case DataType::Bfloat16: static_cast<BFloat16*>(base)[i] = float_to_bf16(f); return;
    case DataType::Float8e4m3: static_cast<Float8E4M3*>(base)[i] = float_to_e4m3(f); return;
    case DataType::Float8e5m2: static_cast<Float8E5M2*>(base)[i] = float_to_e5m2(f); return;
  }
}

}  // namespace colossus::sim_tool
