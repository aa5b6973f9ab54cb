// Tests for the fused CUDA reduce-copy (lib/reduce/cuda), against the host.
//
// Every dtype x op, k = 1, 2, 3, 8 inputs, m = 1, 2 outputs, counts from 0 to
// 2^20 + 3, three layouts (all buffers 16-byte aligned; all at the same odd
// element offset: scalar head, vector body, scalar tail; each at a different
// offset: the element-by-element path), in place, and guard bytes around
// every output. Expected values: the CPU reduce_copy for k <= 2, fold.hpp's
// fold (the kernel's own arithmetic, built by the host compiler) for any k;
// the two agree for k <= 2 (fold_test.cc). Bit for bit, except NaN payloads.
//
// Needs a GPU: where this library's CUDA runtime finds none, each test case
// that launches a kernel is skipped with one line saying why (Catch2 >= 3.3:
// SKIP; v2: exit code 77, the ctest SKIP_RETURN_CODE). The argument checks
// run everywhere.
#include <cuda_runtime_api.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "catch.hpp"
#include "gpu/gpu_skip.hpp"
#include "reduce/cuda/reduce_cuda.hpp"
#include "reduce/fold_reference.hpp"
#include "reduce/reduce.hpp"
#include "reduce/scale.hpp"

namespace colossus::reduce::gpu {
namespace {

using testing::first_difference;
using testing::fold_reference;
using testing::random_elements;

using test::require_gpu;

#define CUDA_OK(call) REQUIRE((call) == cudaSuccess)

constexpr std::size_t kCounts[] = {0, 1, 2, 3, 15, 16, 17, 1009, (std::size_t{1} << 20) + 3};
constexpr std::size_t kMaxCount = (std::size_t{1} << 20) + 3;
constexpr std::size_t kPad = 64;  // elements of guard/offset room before and after each buffer
constexpr unsigned char kGuard = 0xA5;

struct DeviceBuffer {
  explicit DeviceBuffer(std::size_t bytes) : bytes(bytes) {
    if (cudaMalloc(&ptr, bytes) != cudaSuccess) ptr = nullptr;
  }
  ~DeviceBuffer() { cudaFree(ptr); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  unsigned char* at(std::size_t byte) { return static_cast<unsigned char*>(ptr) + byte; }
  void* ptr = nullptr;
  std::size_t bytes;
};

enum class Layout { Aligned, SameOffset, MixedOffsets };
const char* name(Layout l) {
  return l == Layout::Aligned      ? "aligned"
         : l == Layout::SameOffset ? "same odd offset"
                                   : "mixed offsets";
}
// Element offset of buffer b (inputs 0..7, then outputs 8..) under a layout.
std::size_t offset_of(Layout l, int b) {
  switch (l) {
    case Layout::Aligned: return 0;
    case Layout::SameOffset: return 3;
    case Layout::MixedOffsets: return static_cast<std::size_t>(b % 5);
  }
  return 0;
}

class Fixture {
 public:
  explicit Fixture(DataType dtype) : dtype_(dtype), size_(dtype_size(dtype)) {
    const std::size_t elems = kMaxCount + 2 * kPad;
    for (int j = 0; j < kMaxInputs; ++j) {
      host_in_.emplace_back(elems * size_);
      random_elements(dtype, host_in_.back().data(), elems,
                      1000u * static_cast<unsigned>(dtype) + j);
      in_.push_back(std::make_unique<DeviceBuffer>(elems * size_));
    }
    for (int o = 0; o < 2; ++o) out_.push_back(std::make_unique<DeviceBuffer>(elems * size_));
    CUDA_OK(cudaStreamCreate(&stream_));
    upload_inputs();
  }
  ~Fixture() { cudaStreamDestroy(stream_); }

  void upload_inputs() {
    for (int j = 0; j < kMaxInputs; ++j) {
      REQUIRE(in_[j]->ptr != nullptr);
      CUDA_OK(
          cudaMemcpy(in_[j]->ptr, host_in_[j].data(), host_in_[j].size(), cudaMemcpyHostToDevice));
    }
  }

  // Runs one case; returns "" or what went wrong.
  std::string run(ReduceOp op, int k, int m, std::size_t count, Layout layout, bool in_place) {
    const int divisor = op == ReduceOp::Avg ? (k == 1 ? 3 : k) : 1;
    MultiReduceCopyArgs args;
    args.dtype = dtype_;
    args.op = op;
    args.num_inputs = k;
    args.num_outputs = m;
    args.count = count;
    args.divisor = divisor;
    std::vector<const void*> host_ptrs;
    for (int j = 0; j < k; ++j) {
      const std::size_t off = (kPad + offset_of(layout, j)) * size_;
      args.in[j] = in_[j]->at(off);
      host_ptrs.push_back(host_in_[j].data() + off);
    }
    std::size_t out_off[2];
    for (int o = 0; o < m; ++o) {
      out_off[o] = (kPad + offset_of(layout, kMaxInputs + o)) * size_;
      CUDA_OK(cudaMemsetAsync(out_[o]->ptr, kGuard, out_[o]->bytes, stream_));
      args.out[o] = out_[o]->at(out_off[o]);
    }
    if (in_place) args.out[0] = const_cast<void*>(args.in[0]);  // out0 == in0 exactly

    // Expected: the CPU reduce_copy where it applies, and the fold always.
    std::vector<unsigned char> want(count * size_), cpu(count * size_);
    fold_reference(dtype_, op, host_ptrs.data(), k, divisor, want.data(), count);
    if (k <= 2 && count > 0) {
      ReduceCopyArgs c;
      c.dtype = dtype_;
      c.op = op;
      c.in0 = host_ptrs[0];
      c.in1 = k == 2 ? host_ptrs[1] : nullptr;
      c.out0 = cpu.data();
      c.count = count;
      c.divisor = divisor;
      reduce_copy(c);
      if (first_difference(dtype_, cpu.data(), want.data(), count) != count)
        return "CPU reduce_copy and the fold disagree";
    }

    const cudaError_t err = reduce_copy_async(args, stream_);
    if (err != cudaSuccess) return std::string("launch: ") + cudaGetErrorString(err);
    if (cudaStreamSynchronize(stream_) != cudaSuccess) return "kernel failed";

    std::string error;
    for (int o = 0; o < m; ++o) {
      std::vector<unsigned char> got(out_[o]->bytes);
      const bool inplace_here = in_place && o == 0;
      DeviceBuffer* buf = inplace_here ? in_[0].get() : out_[o].get();
      const std::size_t off = inplace_here ? (kPad + offset_of(layout, 0)) * size_ : out_off[o];
      if (cudaMemcpy(got.data(), buf->ptr, got.size(), cudaMemcpyDeviceToHost) != cudaSuccess)
        return "copy back failed";
      const std::size_t at = first_difference(dtype_, got.data() + off, want.data(), count);
      if (at != count) {
        error += "output " + std::to_string(o) + " differs at element " + std::to_string(at) + "; ";
      }
      if (!inplace_here) {
        for (std::size_t b = 0; b < got.size(); ++b) {
          if ((b < off || b >= off + count * size_) && got[b] != kGuard) {
            error += "output " + std::to_string(o) + " written outside its range at byte " +
                     std::to_string(b) + "; ";
            break;
          }
        }
      }
    }
    if (in_place) upload_inputs();  // restore input 0
    return error;
  }

 private:
  DataType dtype_;
  std::size_t size_;
  std::vector<std::vector<unsigned char>> host_in_;
  std::vector<std::unique_ptr<DeviceBuffer>> in_, out_;
  cudaStream_t stream_ = nullptr;
};

void check_dtype(DataType dtype, const char* test) {
  require_gpu(test);
  Fixture fx(dtype);
  for (int o = 0; o < kNumReduceOps; ++o) {
    const auto op = static_cast<ReduceOp>(o);
    for (const int k : {1, 2, 3, 8}) {
      for (const int m : {1, 2}) {
        for (const Layout layout : {Layout::Aligned, Layout::SameOffset, Layout::MixedOffsets}) {
          for (const std::size_t count : kCounts) {
            const std::string error = fx.run(op, k, m, count, layout, false);
            INFO(to_string(dtype) << " " << to_string(op) << ", k " << k << ", m " << m << ", "
                                  << name(layout) << ", count " << count << ": " << error);
            CHECK(error.empty());
          }
        }
      }
    }
    for (const int k : {1, 2, 8}) {
      for (const std::size_t count : {std::size_t{17}, std::size_t{1009}, kMaxCount}) {
        const std::string error = fx.run(op, k, 2, count, Layout::SameOffset, true);
        INFO(to_string(dtype) << " " << to_string(op) << ", k " << k << ", in place, count "
                              << count << ": " << error);
        CHECK(error.empty());
      }
    }
  }
}

TEST_CASE("cuda reduce_copy int8", "[cuda]") {
  check_dtype(DataType::Int8, "cuda reduce_copy int8");
}
TEST_CASE("cuda reduce_copy uint8", "[cuda]") {
  check_dtype(DataType::Uint8, "cuda reduce_copy uint8");
}
TEST_CASE("cuda reduce_copy int32", "[cuda]") {
  check_dtype(DataType::Int32, "cuda reduce_copy int32");
}
TEST_CASE("cuda reduce_copy uint32", "[cuda]") {
  check_dtype(DataType::Uint32, "cuda reduce_copy uint32");
}
TEST_CASE("cuda reduce_copy int64", "[cuda]") {
  check_dtype(DataType::Int64, "cuda reduce_copy int64");
}
TEST_CASE("cuda reduce_copy uint64", "[cuda]") {
  check_dtype(DataType::Uint64, "cuda reduce_copy uint64");
}
TEST_CASE("cuda reduce_copy float16", "[cuda]") {
  check_dtype(DataType::Float16, "cuda reduce_copy float16");
}
TEST_CASE("cuda reduce_copy float32", "[cuda]") {
  check_dtype(DataType::Float32, "cuda reduce_copy float32");
}
TEST_CASE("cuda reduce_copy float64", "[cuda]") {
  check_dtype(DataType::Float64, "cuda reduce_copy float64");
}
TEST_CASE("cuda reduce_copy bfloat16", "[cuda]") {
  check_dtype(DataType::Bfloat16, "cuda reduce_copy bfloat16");
}
TEST_CASE("cuda reduce_copy float8 e4m3", "[cuda]") {
  check_dtype(DataType::Float8e4m3, "cuda reduce_copy float8 e4m3");
}
TEST_CASE("cuda reduce_copy float8 e5m2", "[cuda]") {
  check_dtype(DataType::Float8e5m2, "cuda reduce_copy float8 e5m2");
}

// The CPU-struct entry point gives what the CPU gives, out1 included.
TEST_CASE("cuda reduce_copy with the CPU argument struct", "[cuda]") {
  require_gpu("cuda reduce_copy with the CPU argument struct");
  const std::size_t count = 1000003;
  std::vector<float> a(count), b(count), want(count), got0(count), got1(count);
  random_elements(DataType::Float32, a.data(), count, 1);
  random_elements(DataType::Float32, b.data(), count, 2);
  DeviceBuffer da(count * 4), db(count * 4), d0(count * 4), d1(count * 4);
  CUDA_OK(cudaMemcpy(da.ptr, a.data(), count * 4, cudaMemcpyHostToDevice));
  CUDA_OK(cudaMemcpy(db.ptr, b.data(), count * 4, cudaMemcpyHostToDevice));
  ReduceCopyArgs args;
  args.dtype = DataType::Float32;
  args.op = ReduceOp::Avg;
  args.in0 = a.data();
  args.in1 = b.data();
  args.out0 = want.data();
  args.count = count;
  args.divisor = 2;
  reduce_copy(args);
  args.in0 = da.ptr;
  args.in1 = db.ptr;
  args.out0 = d0.ptr;
  args.out1 = d1.ptr;
  CUDA_OK(reduce_copy_async(args, nullptr));
  CUDA_OK(cudaDeviceSynchronize());
  CUDA_OK(cudaMemcpy(got0.data(), d0.ptr, count * 4, cudaMemcpyDeviceToHost));
  CUDA_OK(cudaMemcpy(got1.data(), d1.ptr, count * 4, cudaMemcpyDeviceToHost));
  CHECK(first_difference(DataType::Float32, got0.data(), want.data(), count) == count);
  CHECK(first_difference(DataType::Float32, got1.data(), want.data(), count) == count);
}

// Runs everywhere: bad arguments are refused before anything touches the GPU.
TEST_CASE("cuda reduce_copy_async refuses bad arguments", "[cuda]") {
  alignas(16) static float buf[64];
  MultiReduceCopyArgs ok;
  ok.in[0] = buf;
  ok.in[1] = buf + 8;
  ok.num_inputs = 2;
  ok.out[0] = buf + 16;
  ok.num_outputs = 1;
  ok.count = 4;

  MultiReduceCopyArgs a = ok;
  a.count = 0;
  a.in[0] = nullptr;
  CHECK(reduce_copy_async(a, nullptr) == cudaSuccess);  // nothing to do, nothing launched
  a = ok;
  a.num_inputs = 0;
  CHECK(reduce_copy_async(a, nullptr) == cudaErrorInvalidValue);
  a.num_inputs = kMaxInputs + 1;
  CHECK(reduce_copy_async(a, nullptr) == cudaErrorInvalidValue);
  a = ok;
  a.num_outputs = 0;
  CHECK(reduce_copy_async(a, nullptr) == cudaErrorInvalidValue);
  a.num_outputs = kMaxOutputs + 1;
  CHECK(reduce_copy_async(a, nullptr) == cudaErrorInvalidValue);
  a = ok;
  a.in[1] = nullptr;
  CHECK(reduce_copy_async(a, nullptr) == cudaErrorInvalidValue);
  a = ok;
  a.out[0] = reinterpret_cast<unsigned char*>(buf) + 2;  // not float-aligned
  CHECK(reduce_copy_async(a, nullptr) == cudaErrorInvalidValue);
  a = ok;
  a.dtype = static_cast<DataType>(99);
  CHECK(reduce_copy_async(a, nullptr) == cudaErrorInvalidValue);
  a = ok;
  a.op = static_cast<ReduceOp>(99);
  CHECK(reduce_copy_async(a, nullptr) == cudaErrorInvalidValue);
}

// The pre-multiplied sum's scaling on the GPU: the CPU scale()'s bits, every
// dtype, the scalar from host memory and from device memory, in place and not.
TEST_CASE("cuda scale_async matches the CPU scale", "[cuda]") {
  require_gpu("cuda scale_async matches the CPU scale");
  const std::size_t count = 100003;
  for (int t = 0; t < kNumDataTypes; ++t) {
    const auto dtype = static_cast<DataType>(t);
    const std::size_t es = dtype_size(dtype), bytes = count * es;
    std::vector<unsigned char> in(bytes), scalar(es), want(bytes), got(bytes);
    random_elements(dtype, in.data(), count, 10 + t);
    random_elements(dtype, scalar.data(), 1, 50 + t);
    scale(dtype, in.data(), want.data(), count, scalar.data());
    DeviceBuffer din(bytes), dout(bytes), ds(es);
    CUDA_OK(cudaMemcpy(ds.ptr, scalar.data(), es, cudaMemcpyHostToDevice));
    for (const bool on_device : {false, true}) {
      for (const bool in_place : {false, true}) {
        CUDA_OK(cudaMemcpy(din.ptr, in.data(), bytes, cudaMemcpyHostToDevice));
        void* out = in_place ? din.ptr : dout.ptr;
        CUDA_OK(scale_async(dtype, din.ptr, out, count, on_device ? ds.ptr : scalar.data(),
                            on_device, nullptr));
        CUDA_OK(cudaDeviceSynchronize());
        CUDA_OK(cudaMemcpy(got.data(), out, bytes, cudaMemcpyDeviceToHost));
        INFO("dtype " << t << (on_device ? ", device scalar" : ", host scalar")
                      << (in_place ? ", in place" : ""));
        CHECK(first_difference(dtype, got.data(), want.data(), count) == count);
      }
    }
  }
}

// Runs everywhere: bad arguments are refused before anything touches the GPU.
TEST_CASE("cuda scale_async refuses bad arguments", "[cuda]") {
  alignas(16) static float buf[16];
  const float s = 2;
  CHECK(scale_async(DataType::Float32, nullptr, nullptr, 0, &s, false, nullptr) == cudaSuccess);
  CHECK(scale_async(DataType::Float32, buf, buf, 4, nullptr, false, nullptr) ==
        cudaErrorInvalidValue);
  CHECK(scale_async(DataType::Float32, nullptr, buf, 4, &s, false, nullptr) ==
        cudaErrorInvalidValue);
  CHECK(scale_async(DataType::Float32, reinterpret_cast<unsigned char*>(buf) + 2, buf, 4, &s, false,
                    nullptr) == cudaErrorInvalidValue);
  CHECK(scale_async(static_cast<DataType>(99), buf, buf, 4, &s, false, nullptr) ==
        cudaErrorInvalidValue);
}

}  // namespace
}  // namespace colossus::reduce::gpu
