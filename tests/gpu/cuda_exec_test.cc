// Tests for the device-side executor (exec/cuda): ring allreduce among n
// simulated ranks on one GPU. Every (rank, channel) is one block of a single
// cooperative launch (so all are resident at once); "peer memory" is another
// allocation on the same GPU, reached through the same FIFO protocol the
// NVLink path uses (device_plan.hpp). Results are checked exactly: int32 sums
// wrap, fp32 Avg inputs are small integers, so every order of summation gives
// the same sum and the quotient is one rounding.
//
// Needs a GPU: where this library's CUDA runtime finds none, each case is
// skipped with one line saying why (Catch2 >= 3.3: SKIP; v2: exit code 77).
#include <cuda_runtime_api.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "catch.hpp"
#include "exec/cuda/conn_wiring.hpp"
#include "exec/cuda/device_executor.hpp"
#include "exec/cuda/device_plan.hpp"
#include "gpu/gpu_skip.hpp"
#include "plan/builder.hpp"
#include "reduce/cuda/reduce_cuda.hpp"

namespace colossus::exec::gpu {
namespace {

using test::require_gpu;  // gpu_skip.hpp

#define CUDA_OK(call) REQUIRE((call) == cudaSuccess)

// Ring allreduce of [base, base + count) for `rank` of n: reduce-scatter then
// allgather, block b of the range reduced on its way round the ring.
plan::ChannelPlan ring_allreduce(int rank, int n, std::size_t base, std::size_t count) {
  plan::ChannelPlan ch;
  plan::ChannelBuilder b(ch);
  auto block = [&](int i, plan::Buffer buf) {
    i = ((i % n) + n) % n;
    const std::size_t lo = base + count * i / n, hi = base + count * (i + 1) / n;
    return plan::Slice{buf, lo, hi - lo};
  };
  const int next = (rank + 1) % n, prev = (rank + n - 1) % n;
  using plan::Buffer;
  if (n == 1) {
    b.copy(block(0, Buffer::Send), block(0, Buffer::Recv), true);
    return ch;
  }
  b.send(next, block(rank, Buffer::Send));
  for (int j = 1; j <= n - 2; ++j) b.recv_reduce_send(prev, next, block(rank - j, Buffer::Send));
  b.recv_reduce_copy_send(prev, next, block(rank + 1, Buffer::Send), block(rank + 1, Buffer::Recv),
                          true);
  for (int j = 1; j <= n - 2; ++j) b.recv_copy_send(prev, next, block(rank + 1 - j, Buffer::Recv));
  b.recv(prev, block(rank + 2, Buffer::Recv));
  return ch;
}

template <class T>
struct DeviceArray {
  explicit DeviceArray(std::size_t n) : n(n) {
    if (cudaMalloc(reinterpret_cast<void**>(&ptr), n * sizeof(T) + 16) != cudaSuccess)
      ptr = nullptr;
    if (ptr != nullptr) cudaMemset(ptr, 0, n * sizeof(T) + 16);
  }
  ~DeviceArray() { cudaFree(ptr); }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  T* ptr = nullptr;
  std::size_t n;
};

// Runs an allreduce of `count` elements over n ranks and `channels` channels;
// returns "" or what went wrong.
template <class T>
std::string run_allreduce(DataType dtype, ReduceOp op, int n, int channels, std::size_t count,
                          std::size_t slot_bytes, std::uint32_t depth) {
  // Inputs: small integers, so any summation order is exact.
  std::vector<std::vector<T>> send(n, std::vector<T>(count));
  std::vector<T> want(count);
  for (std::size_t i = 0; i < count; ++i) {
    long long sum = 0;
    for (int r = 0; r < n; ++r) {
      const int v = static_cast<int>((i * 7 + r * 13) % 23) - 11;
      send[r][i] = static_cast<T>(v);
      sum += v;
    }
    want[i] = op == ReduceOp::Avg ? static_cast<T>(static_cast<T>(sum) / static_cast<T>(n))
                                  : static_cast<T>(sum);
  }
  std::vector<std::unique_ptr<DeviceArray<T>>> dsend, drecv;
  for (int r = 0; r < n; ++r) {
    dsend.push_back(std::make_unique<DeviceArray<T>>(count));
    drecv.push_back(std::make_unique<DeviceArray<T>>(count));
    if (dsend[r]->ptr == nullptr || drecv[r]->ptr == nullptr) return "cudaMalloc failed";
    if (cudaMemcpy(dsend[r]->ptr, send[r].data(), count * sizeof(T), cudaMemcpyHostToDevice) !=
        cudaSuccess)
      return "upload failed";
  }

  // One FIFO per directed (from, to, channel): ring and head in `to`'s
  // memory, tail in `from`'s; here all are allocations on the one GPU.
  struct Fifo {
    std::unique_ptr<DeviceArray<char>> ring;
    std::unique_ptr<DeviceArray<std::uint64_t>> head, tail, progress;
  };
  std::map<std::tuple<int, int, int>, Fifo> fifos;
  auto fifo = [&](int from, int to, int c) -> Fifo& {
    Fifo& f = fifos[{from, to, c}];
    if (!f.ring) {
      f.ring = std::make_unique<DeviceArray<char>>(slot_bytes * depth);
      f.head = std::make_unique<DeviceArray<std::uint64_t>>(2);
      f.tail = std::make_unique<DeviceArray<std::uint64_t>>(2);
      f.progress = std::make_unique<DeviceArray<std::uint64_t>>(2);
    }
    return f;
  };

  std::vector<DeviceWork> works;
  std::vector<std::unique_ptr<DeviceArray<DeviceStep>>> step_arrays;
  std::vector<std::unique_ptr<DeviceArray<DeviceConn>>> conn_arrays;
  DeviceArray<DeviceStatus> status(static_cast<std::size_t>(n) * channels);
  for (int r = 0; r < n; ++r) {
    for (int c = 0; c < channels; ++c) {
      const std::size_t lo = count * c / channels, hi = count * (c + 1) / channels;
      const EncodedChannel e = encode_channel(ring_allreduce(r, n, lo, hi - lo));
      std::vector<DeviceConn> conns;
      for (const int peer : e.peers) {
        Fifo& in = fifo(peer, r, c);
        Fifo& out = fifo(r, peer, c);
        // The arena r receives in holds the incoming ring and head and the
        // tail of r's messages; the peer's, the outgoing ones (conn_wiring.hpp).
        const ArenaPointers local{reinterpret_cast<std::byte*>(in.ring->ptr), in.head->ptr,
                                  out.tail->ptr, nullptr};
        const ArenaPointers remote{reinterpret_cast<std::byte*>(out.ring->ptr), out.head->ptr,
                                   in.tail->ptr, nullptr};
        // One progress pair per (r, peer, c): keyed on the outgoing FIFO.
        conns.push_back(wire_conn(local, remote, false, out.progress->ptr));
      }
      step_arrays.push_back(std::make_unique<DeviceArray<DeviceStep>>(e.steps.size()));
      conn_arrays.push_back(std::make_unique<DeviceArray<DeviceConn>>(conns.size()));
      cudaMemcpy(step_arrays.back()->ptr, e.steps.data(), e.steps.size() * sizeof(DeviceStep),
                 cudaMemcpyHostToDevice);
      cudaMemcpy(conn_arrays.back()->ptr, conns.data(), conns.size() * sizeof(DeviceConn),
                 cudaMemcpyHostToDevice);
      DeviceWork w;
      w.steps = step_arrays.back()->ptr;
      w.num_steps = static_cast<int>(e.steps.size());
      w.conns = conn_arrays.back()->ptr;
      w.num_conns = static_cast<int>(conns.size());
      w.buffers[static_cast<int>(plan::Buffer::Send)] = dsend[r]->ptr;
      w.buffers[static_cast<int>(plan::Buffer::Recv)] = drecv[r]->ptr;
      w.slot_bytes = slot_bytes;
      w.depth = depth;
      w.divisor = op == ReduceOp::Avg ? n : 1;
      w.timeout_ns = 20'000'000'000ull;  // 20 s: a protocol bug ends as an error, not a hang
      w.status = status.ptr + works.size();
      works.push_back(w);
    }
  }
  cudaError_t err =
      launch_channels(dtype, op, works.data(), static_cast<int>(works.size()), true, nullptr);
  if (err != cudaSuccess) return std::string("launch: ") + cudaGetErrorString(err);
  err = cudaDeviceSynchronize();
  if (err != cudaSuccess) return std::string("kernel: ") + cudaGetErrorString(err);

  std::vector<DeviceStatus> st(works.size());
  cudaMemcpy(st.data(), status.ptr, st.size() * sizeof(DeviceStatus), cudaMemcpyDeviceToHost);
  for (std::size_t i = 0; i < st.size(); ++i) {
    if (st[i].error != 0) {
      return "work " + std::to_string(i) + " stopped (error " + std::to_string(st[i].error) +
             ") in step " + std::to_string(st[i].step);
    }
  }
  for (int r = 0; r < n; ++r) {
    std::vector<T> got(count);
    cudaMemcpy(got.data(), drecv[r]->ptr, count * sizeof(T), cudaMemcpyDeviceToHost);
    for (std::size_t i = 0; i < count; ++i) {
      if (std::memcmp(&got[i], &want[i], sizeof(T)) != 0) {
        return "rank " + std::to_string(r) + " element " + std::to_string(i) + ": got " +
               std::to_string(static_cast<double>(got[i])) + ", want " +
               std::to_string(static_cast<double>(want[i]));
      }
    }
  }
  return "";
}

TEST_CASE("device executor: ring allreduce int32 sum on one GPU", "[cuda][exec]") {
  require_gpu("device executor: ring allreduce int32 sum on one GPU");
  for (const int n : {1, 2, 3, 4}) {
    for (const std::size_t count : {std::size_t{1}, std::size_t{1009}, std::size_t{100003}}) {
      const std::string error =
          run_allreduce<std::int32_t>(DataType::Int32, ReduceOp::Sum, n, 2, count, 64 << 10, 4);
      INFO("n " << n << ", count " << count << ": " << error);
      CHECK(error.empty());
    }
  }
}

TEST_CASE("device executor: fp32 avg with tiny slots (many pieces per step)", "[cuda][exec]") {
  require_gpu("device executor: fp32 avg with tiny slots (many pieces per step)");
  for (const int n : {2, 3, 4}) {
    for (const std::uint32_t depth : {1u, 2u, 8u}) {
      const std::string error =
          run_allreduce<float>(DataType::Float32, ReduceOp::Avg, n, 3, 10007, 64, depth);
      INFO("n " << n << ", depth " << depth << ": " << error);
      CHECK(error.empty());
    }
  }
}

}  // namespace
}  // namespace colossus::exec::gpu
