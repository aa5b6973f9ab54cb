// reduce_bench: the CPU reduction kernels against memcpy, the physical limit.
//
// For each size N (bytes per buffer): memcpy of N bytes next to reduce_copy
// Sum of two N-byte inputs into one N-byte output, per dtype, and next to
// process_vm_readv of N bytes (the shm transport's single copy; here from
// this process itself, the kernel's path is the same). Two rates:
//   bytes_per_second  payload: N bytes per iteration (what a collective moves)
//   traffic           bytes the loop itself reads and writes: 2N for memcpy
//                     (read + write), 3N for a two-input reduce (read, read,
//                     write); write-allocate reads and prefetch not counted.
//
//   <build>/bench/micro/reduce_bench --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "colossus/types.hpp"
#include "reduce/float_convert.hpp"
#include "reduce/reduce.hpp"

namespace {

using colossus::DataType;
using colossus::ReduceOp;
namespace reduce = colossus::reduce;

// A page-aligned buffer whose pages are all faulted in before timing starts.
class Buffer {
 public:
  explicit Buffer(std::size_t bytes)
      : data_(static_cast<std::byte*>(std::aligned_alloc(4096, round_up(bytes)))), bytes_(bytes) {
    std::memset(data_, 0, round_up(bytes));
  }
  ~Buffer() { std::free(data_); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  void* data() { return data_; }

  // Small normal numbers of the dtype: no NaN, inf or subnormal, so no FPU
  // slow path and no overflow of the sums the loop repeats.
  void fill(DataType dtype, int seed) {
    const std::size_t n = bytes_ / colossus::dtype_size(dtype);
    for (std::size_t i = 0; i < n; ++i) {
      const int v = static_cast<int>((i * 7 + seed) % 13) - 6;
      const float f = static_cast<float>(v) * 0.25f;
      switch (dtype) {
        case DataType::Float32: static_cast<float*>(data())[i] = f; break;
        case DataType::Float64: static_cast<double*>(data())[i] = f; break;
        case DataType::Int32: static_cast<std::int32_t*>(data())[i] = v; break;
        case DataType::Float16:
          static_cast<reduce::Half*>(data())[i] = reduce::float_to_half(f);
          break;
        case DataType::Bfloat16:
          static_cast<reduce::BFloat16*>(data())[i] = reduce::float_to_bf16(f);
          break;
        case DataType::Float8e4m3:
          static_cast<reduce::Float8E4M3*>(data())[i] = reduce::float_to_e4m3(f);
          break;
        case DataType::Float8e5m2:
          static_cast<reduce::Float8E5M2*>(data())[i] = reduce::float_to_e5m2(f);
          break;
        default: static_cast<std::uint8_t*>(data())[i] = static_cast<std::uint8_t>(v); break;
      }
    }
  }

 private:
  static std::size_t round_up(std::size_t bytes) { return (bytes + 4095) / 4096 * 4096; }
  std::byte* data_;
  std::size_t bytes_;
};

void set_rates(benchmark::State& state, std::size_t bytes, int streams) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(bytes));
  state.counters["traffic"] = benchmark::Counter(static_cast<double>(bytes) * streams,
                                                 benchmark::Counter::kIsIterationInvariantRate,
                                                 benchmark::Counter::kIs1024);
}

void bm_memcpy(benchmark::State& state, std::size_t bytes) {
  Buffer src(bytes), dst(bytes);
  src.fill(DataType::Uint8, 1);
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), bytes);
    benchmark::ClobberMemory();
  }
  set_rates(state, bytes, 2);
}

// The kernel's copy between address spaces, as the shm transport's single
// copy does it (one call per message; pages pinned and unpinned each time).
void bm_process_vm_readv(benchmark::State& state, std::size_t bytes) {
  Buffer src(bytes), dst(bytes);
  src.fill(DataType::Uint8, 1);
  const pid_t self = getpid();
  for (auto _ : state) {
    iovec local{dst.data(), bytes}, remote{src.data(), bytes};
    if (process_vm_readv(self, &local, 1, &remote, 1, 0) != static_cast<ssize_t>(bytes)) {
      state.SkipWithError("process_vm_readv refused (ptrace restrictions?)");
      break;
    }
    benchmark::ClobberMemory();
  }
  set_rates(state, bytes, 2);
}

// in_place: out0 == in0, the allreduce shape (recvReduce into the user buffer).
void bm_sum(benchmark::State& state, DataType dtype, std::size_t bytes, bool in_place) {
  Buffer in0(bytes), in1(bytes), out(bytes);
  in0.fill(dtype, 1);
  in1.fill(dtype, 2);
  reduce::ReduceCopyArgs args;
  args.dtype = dtype;
  args.op = ReduceOp::Sum;
  args.in0 = in0.data();
  args.in1 = in1.data();
  args.out0 = in_place ? in0.data() : out.data();
  args.count = bytes / colossus::dtype_size(dtype);
  if (in_place) {
    // Repeated in-place sums would grow without bound: add x + 0 instead.
    std::memset(in1.data(), 0, bytes);
  }
  for (auto _ : state) {
    reduce::reduce_copy(args);
    benchmark::ClobberMemory();
  }
  set_rates(state, bytes, 3);
}

std::string size_label(std::size_t bytes) {
  return bytes >= (1u << 20) ? std::to_string(bytes >> 20) + "MiB"
                             : std::to_string(bytes >> 10) + "KiB";
}

}  // namespace

int main(int argc, char** argv) {
  struct Type {
    DataType dtype;
    const char* name;
  };
  const Type types[] = {{DataType::Float32, "fp32"},       {DataType::Bfloat16, "bf16"},
                        {DataType::Float16, "fp16"},       {DataType::Float8e4m3, "fp8e4m3"},
                        {DataType::Float8e5m2, "fp8e5m2"}, {DataType::Float64, "fp64"},
                        {DataType::Int32, "int32"}};
  for (const std::size_t bytes :
       {std::size_t{64} << 10, std::size_t{1} << 20, std::size_t{64} << 20}) {
    const std::string size = size_label(bytes);
    benchmark::RegisterBenchmark(("memcpy/" + size).c_str(), bm_memcpy, bytes)->UseRealTime();
    benchmark::RegisterBenchmark(("process_vm_readv/" + size).c_str(), bm_process_vm_readv, bytes)
        ->UseRealTime();
    for (const Type& t : types) {
      benchmark::RegisterBenchmark((std::string("sum_") + t.name + "/" + size).c_str(), bm_sum,
                                   t.dtype, bytes, false)
          ->UseRealTime();
    }
    benchmark::RegisterBenchmark(("sum_fp32_inplace/" + size).c_str(), bm_sum, DataType::Float32,
                                 bytes, true)
        ->UseRealTime();
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
