// cuda_reduce_bench: the fused CUDA reduce-copy against a device-to-device
// cudaMemcpyAsync, the physical limit, in the same run on the same GPU.
//
// For each size N (bytes per buffer, 4 KiB .. 4 GiB in x4 steps): a copy of N
// bytes, then reduce_copy Sum of two N-byte inputs into one N-byte output in
// fp32 and in bf16. Each timing is the median over --reps repetitions of a
// batch of back-to-back launches on one stream (cudaEvent), divided by the
// batch size. Columns:
//   payload GB/s  N / time (what a collective step moves per buffer)
//   HBM GB/s      bytes the kernel reads and writes / time: 2N for the copy
//                 (read + write), 3N for a two-input reduce (read, read, write)
//   vs copy       HBM GB/s of the row / HBM GB/s of the copy at the same N
// GB = 1e9 bytes.
//
//   <build>/bench/micro/cuda_reduce_bench [--min-bytes B] [--max-bytes B] [--reps R]
//
// Exit codes: 0 done; 77 no usable GPU (one line says why; nothing measured);
// 1 a CUDA error or bad arguments.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "base/config.hpp"
#include "colossus/types.hpp"
#include "reduce/cuda/reduce_cuda.hpp"

namespace {

namespace gpu = colossus::reduce::gpu;
using colossus::DataType;
using colossus::ReduceOp;

constexpr int kSkip = 77;

#define CHECK_CUDA(call)                                                                    \
  do {                                                                                      \
    const cudaError_t err_ = (call);                                                        \
    if (err_ != cudaSuccess) {                                                              \
      std::fprintf(stderr, "cuda_reduce_bench: %s: %s\n", #call, cudaGetErrorString(err_)); \
      std::exit(1);                                                                         \
    }                                                                                       \
  } while (0)

struct Options {
  std::size_t min_bytes = std::size_t{4} << 10;
  std::size_t max_bytes = std::size_t{4} << 30;
  int reps = 15;
};

// --min-bytes/--max-bytes: the library's byte sizes (base::parse_bytes).
std::size_t parse_size(const char* flag, const char* text) {
  std::size_t bytes = 0;
  if (!colossus::base::parse_bytes(text, &bytes)) {
    std::fprintf(stderr, "cuda_reduce_bench: %s expects a size (4096, 64K, 1.5M), got '%s'\n", flag,
                 text);
    std::exit(1);
  }
  return bytes;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--min-bytes" && i + 1 < argc) {
      o.min_bytes = parse_size("--min-bytes", argv[++i]);
    } else if (a == "--max-bytes" && i + 1 < argc) {
      o.max_bytes = parse_size("--max-bytes", argv[++i]);
    } else if (a == "--reps" && i + 1 < argc) {
      o.reps = std::max(1, std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr,
                   "usage: cuda_reduce_bench [--min-bytes B] [--max-bytes B] [--reps R]"
                   " (B may end in K, M or G)\n");
      std::exit(1);
    }
  }
  if (o.min_bytes < 16) o.min_bytes = 16;
  return o;
}

// Median seconds per call of `launch`, over reps batches of `batch` calls.
template <class Launch>
double median_seconds(cudaStream_t stream, int reps, int batch, Launch launch) {
  cudaEvent_t start, stop;
  CHECK_CUDA(cudaEventCreate(&start));
  CHECK_CUDA(cudaEventCreate(&stop));
  launch();  // warm-up: first-launch costs, page mapping
  CHECK_CUDA(cudaStreamSynchronize(stream));
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    CHECK_CUDA(cudaEventRecord(start, stream));
    for (int b = 0; b < batch; ++b) launch();
    CHECK_CUDA(cudaEventRecord(stop, stream));
    CHECK_CUDA(cudaEventSynchronize(stop));
    float ms = 0;
    CHECK_CUDA(cudaEventElapsedTime(&ms, start, stop));
    t.push_back(ms * 1e-3 / batch);
  }
  CHECK_CUDA(cudaEventDestroy(start));
  CHECK_CUDA(cudaEventDestroy(stop));
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

std::string human(std::size_t bytes) {
  char buf[32];
  if (bytes >= (std::size_t{1} << 30)) {
    std::snprintf(buf, sizeof buf, "%zu GiB", bytes >> 30);
  } else if (bytes >= (std::size_t{1} << 20)) {
    std::snprintf(buf, sizeof buf, "%zu MiB", bytes >> 20);
  } else {
    std::snprintf(buf, sizeof buf, "%zu KiB", bytes >> 10);
  }
  return buf;
}

void row(std::size_t bytes, const char* what, double seconds, int streams, double copy_hbm) {
  const double payload = static_cast<double>(bytes) / seconds / 1e9;
  const double hbm = payload * streams;
  std::printf("%10s  %-14s %12.2f %12.1f %12.1f %9.3f\n", human(bytes).c_str(), what, seconds * 1e6,
              payload, hbm, copy_hbm > 0 ? hbm / copy_hbm : 1.0);
}

}  // namespace

int main(int argc, char** argv) {
  const Options opt = parse(argc, argv);
  // Both runtimes must see the GPU: this program's and the library's (static, hidden).
  const char* why = "no CUDA device";
  int n = 0;
  const cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) why = cudaGetErrorString(err);
  if (err != cudaSuccess || n == 0 || !gpu::device_available(&why)) {
    std::printf("cuda_reduce_bench: skipped, no usable CUDA device (%s); nothing measured\n", why);
    return kSkip;
  }
  cudaDeviceProp prop{};
  CHECK_CUDA(cudaGetDeviceProperties(&prop, 0));
  std::size_t free_bytes = 0, total_bytes = 0;
  CHECK_CUDA(cudaMemGetInfo(&free_bytes, &total_bytes));
  std::printf("# cuda_reduce_bench on %s (%d SMs, %.1f GiB), median of %d reps\n", prop.name,
              prop.multiProcessorCount, total_bytes / 1073741824.0, opt.reps);
  std::printf("# %8s  %-14s %12s %12s %12s %9s\n", "size", "what", "time us", "payload GB/s",
              "HBM GB/s", "vs copy");

  cudaStream_t stream;
  CHECK_CUDA(cudaStreamCreate(&stream));
  for (std::size_t bytes = opt.min_bytes; bytes <= opt.max_bytes; bytes *= 4) {
    if (3 * bytes + (std::size_t{256} << 20) > free_bytes) {
      std::printf("# %s: skipped, 3 buffers do not fit in %.1f GiB free\n", human(bytes).c_str(),
                  free_bytes / 1073741824.0);
      break;
    }
    void *a, *b, *out;
    CHECK_CUDA(cudaMalloc(&a, bytes));
    CHECK_CUDA(cudaMalloc(&b, bytes));
    CHECK_CUDA(cudaMalloc(&out, bytes));
    // 0x3c in every byte: small normal numbers in fp32 (0.0115) and bf16 (0.0115).
    CHECK_CUDA(cudaMemset(a, 0x3c, bytes));
    CHECK_CUDA(cudaMemset(b, 0x3c, bytes));
    // Batches of at least ~256 MiB moved, so launch gaps do not dominate small sizes.
    const int batch =
        static_cast<int>(std::clamp<std::size_t>((std::size_t{256} << 20) / bytes, 1, 2000));

    const double copy = median_seconds(stream, opt.reps, batch, [&] {
      CHECK_CUDA(cudaMemcpyAsync(out, a, bytes, cudaMemcpyDeviceToDevice, stream));
    });
    const double copy_hbm = 2.0 * bytes / copy / 1e9;
    row(bytes, "memcpy d2d", copy, 2, 0);
    for (const DataType dtype : {DataType::Float32, DataType::Bfloat16}) {
      gpu::MultiReduceCopyArgs args;
      args.dtype = dtype;
      args.op = ReduceOp::Sum;
      args.in[0] = a;
      args.in[1] = b;
      args.num_inputs = 2;
      args.out[0] = out;
      args.num_outputs = 1;
      args.count = bytes / colossus::dtype_size(dtype);
      const double t = median_seconds(stream, opt.reps, batch,
                                      [&] { CHECK_CUDA(gpu::reduce_copy_async(args, stream)); });
      row(bytes, dtype == DataType::Float32 ? "sum fp32 2->1" : "sum bf16 2->1", t, 3, copy_hbm);
    }
    CHECK_CUDA(cudaFree(a));
    CHECK_CUDA(cudaFree(b));
    CHECK_CUDA(cudaFree(out));
  }
  CHECK_CUDA(cudaStreamDestroy(stream));
  return 0;
}
