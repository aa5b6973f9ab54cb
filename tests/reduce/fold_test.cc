// Tests for fold.hpp, the per-element arithmetic of the CUDA reduce-copy,
// without a GPU:
// - for one and two inputs it is exactly the CPU reduce_copy's arithmetic,
//   every dtype x op x divisor (so the CPU kernel tests cover the GPU's too);
// - built by nvcc (fold_nvcc.cu, when CUDA is on) it gives the same bits as
//   built by the host compiler, for 1 to 8 inputs.
// The GPU's own results are compared with the same reference in
// cuda_reduce_test.cc, where a GPU exists.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "catch.hpp"
#include "reduce/fold_reference.hpp"
#include "reduce/reduce.hpp"

namespace colossus::reduce::testing {
#if defined(COLOSSUS_TEST_NVCC)
void fold_nvcc(DataType dtype, ReduceOp op, const void* const* in, int k, int divisor, void* out,
               std::size_t count);
#endif

namespace {

constexpr std::size_t kCount = 4099;  // odd, past every vector width

struct Inputs {
  DataType dtype;
  std::vector<std::vector<unsigned char>> bufs;
  std::vector<const void*> ptrs;

  Inputs(DataType t, int k, std::uint64_t seed) : dtype(t) {
    for (int j = 0; j < k; ++j) {
      bufs.emplace_back(kCount * dtype_size(t));
      random_elements(t, bufs.back().data(), kCount, seed * 31 + j);
    }
    for (auto& b : bufs) ptrs.push_back(b.data());
  }
};

std::string describe(DataType t, ReduceOp op, int k, int divisor) {
  return std::string(to_string(t)) + " " + std::string(to_string(op)) + ", " + std::to_string(k) +
         " inputs, divisor " + std::to_string(divisor);
}

TEST_CASE("the CUDA fold equals reduce_copy for one and two inputs", "[reduce][cuda]") {
  for (int t = 0; t < kNumDataTypes; ++t) {
    const auto dtype = static_cast<DataType>(t);
    const std::size_t bytes = kCount * dtype_size(dtype);
    for (int o = 0; o < kNumReduceOps; ++o) {
      const auto op = static_cast<ReduceOp>(o);
      for (const int k : {1, 2}) {
        for (const int divisor : {1, 3, 200}) {
          if (divisor > 1 && op != ReduceOp::Avg) continue;  // the contract: Avg only
          const Inputs in(dtype, k, static_cast<std::uint64_t>(t * 100 + o * 10 + k));
          std::vector<unsigned char> cpu(bytes), fold(bytes);
          ReduceCopyArgs args;
          args.dtype = dtype;
          args.op = op;
          args.in0 = in.ptrs[0];
          args.in1 = k == 2 ? in.ptrs[1] : nullptr;
          args.out0 = cpu.data();
          args.count = kCount;
          args.divisor = divisor;
          reduce_copy(args);
          fold_reference(dtype, op, in.ptrs.data(), k, divisor, fold.data(), kCount);
          const std::size_t at = first_difference(dtype, cpu.data(), fold.data(), kCount);
          INFO(describe(dtype, op, k, divisor) << ": first difference at element " << at);
          CHECK(at == kCount);
        }
      }
    }
  }
}

// A copy (one input, no divisor) keeps every bit, NaN payloads and signalling
// NaNs included, as the CPU's byte copy does.
TEST_CASE("the CUDA fold copies one input bit for bit", "[reduce][cuda]") {
  for (int t = 0; t < kNumDataTypes; ++t) {
    const auto dtype = static_cast<DataType>(t);
    const Inputs in(dtype, 1, 7);
    std::vector<unsigned char> out(kCount * dtype_size(dtype));
    fold_reference(dtype, ReduceOp::Sum, in.ptrs.data(), 1, 1, out.data(), kCount);
    INFO(to_string(dtype));
    CHECK(out == in.bufs[0]);
  }
}

#if defined(COLOSSUS_TEST_NVCC)
TEST_CASE("nvcc's build of the fold equals the host compiler's", "[reduce][cuda]") {
  for (int t = 0; t < kNumDataTypes; ++t) {
    const auto dtype = static_cast<DataType>(t);
    const std::size_t bytes = kCount * dtype_size(dtype);
    for (int o = 0; o < kNumReduceOps; ++o) {
      const auto op = static_cast<ReduceOp>(o);
      for (int k = 1; k <= kMaxFoldInputs; ++k) {
        const int divisor = op == ReduceOp::Avg ? k + 1 : 1;
        const Inputs in(dtype, k, static_cast<std::uint64_t>(t * 1000 + o * 10 + k));
        std::vector<unsigned char> host(bytes), nvcc(bytes);
        fold_reference(dtype, op, in.ptrs.data(), k, divisor, host.data(), kCount);
        fold_nvcc(dtype, op, in.ptrs.data(), k, divisor, nvcc.data(), kCount);
        INFO(describe(dtype, op, k, divisor));
        CHECK(host == nvcc);  // same host ISA, same scalar code: every bit, NaN payloads too
      }
    }
  }
}
#endif

}  // namespace
}  // namespace colossus::reduce::testing
