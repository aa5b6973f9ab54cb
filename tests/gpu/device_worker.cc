// device_worker: one rank of a device-buffer job in its own process, started
// by device_comm_test ("processes sharing one GPU").
//
//   device_worker RANK NRANKS UNIQUE_ID_HEX [LABEL]
//
// Binds GPU 0 (every rank shares it: CUDA IPC between the processes, or,
// with COLOSSUS_TRANSPORT=tcp, every peer through the host proxy), runs
// allreduce, allgather, reduce_scatter, broadcast and reduce on device
// buffers one at a time, then ten in flight, then an allreduce captured in a
// CUDA graph and replayed, and checks every output exactly
// (device_cases.hpp). Exit 0 iff all are right; 1 on wrong results or an
// error; 2 on bad arguments.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "colossus/colossus.hpp"
#include "gpu/device_cases.hpp"

using namespace colossus;
using namespace colossus::test::device;

namespace {

std::vector<Case> worker_cases(int n) {
  std::vector<Case> out;
  auto add = [&](Coll coll, DataType t, ReduceOp op, std::size_t count, int root, bool in_place,
                 bool misaligned) {
    Case c;
    c.coll = coll;
    c.dtype = t;
    c.op = op;
    c.count = count;
    c.root = root;
    c.in_place = in_place;
    c.misaligned = misaligned;
    c.seed = out.size() + 1;
    out.push_back(c);
  };
  for (const std::size_t count : {std::size_t{1}, std::size_t{1031}, std::size_t{65537}}) {
    add(Coll::AllReduce, DataType::Int32, ReduceOp::Sum, count, 0, false, false);
    add(Coll::AllReduce, DataType::Float32, ReduceOp::Avg, count, 0, true, true);
    add(Coll::AllReduce, DataType::Bfloat16, ReduceOp::Max, count, 0, false, true);
    add(Coll::AllReduce, DataType::Float16, ReduceOp::Sum, count, 0, true, false);
  }
  add(Coll::AllReduce, DataType::Float32, ReduceOp::Sum, std::size_t{1} << 18, 0, false, false);
  add(Coll::AllReduce, DataType::Uint8, ReduceOp::Sum, 0, 0, false, false);  // a no-op
  for (const std::size_t count : {std::size_t{7}, std::size_t{65537}}) {
    add(Coll::AllGather, DataType::Int32, ReduceOp::Sum, count, 0, false, false);
    add(Coll::AllGather, DataType::Float16, ReduceOp::Sum, count, 0, true, true);
  }
  for (const int root : {0, n - 1}) {
    add(Coll::Broadcast, DataType::Uint8, ReduceOp::Sum, 1031, root, false, true);
    add(Coll::Broadcast, DataType::Float64, ReduceOp::Sum, 65537, root, true, false);
  }
  add(Coll::ReduceScatter, DataType::Float32, ReduceOp::Sum, 4099, 0, false, false);
  add(Coll::ReduceScatter, DataType::Int32, ReduceOp::Min, 1031, 0, true, true);
  add(Coll::Reduce, DataType::Int64, ReduceOp::Min, 1031, n - 1, false, false);
  add(Coll::Reduce, DataType::Float32, ReduceOp::Sum, 65537, 0, true, false);
  return out;
}

struct Pools {
  std::byte* send = nullptr;
  std::byte* recv = nullptr;
  ~Pools() {
    cudaFree(send);
    cudaFree(recv);
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: device_worker RANK NRANKS UNIQUE_ID_HEX [LABEL]\n");
    return 2;
  }
  const int rank = std::atoi(argv[1]), n = std::atoi(argv[2]);
  const std::string label = argc > 4 ? argv[4] : "";
  if (n < 1 || n > 64 || rank < 0 || rank >= n) {
    std::fprintf(stderr, "device_worker: rank %s of %s out of range\n", argv[1], argv[2]);
    return 2;
  }
  std::vector<std::string> problems;
  std::size_t calls = 0;
  auto report = [&](const std::string& what) {
    if (problems.size() < 20) problems.push_back(what);
  };
  try {
    Options o;
    o.cuda_device = 0;
    o.timeout_s = 120;
    Communicator comm = init(parse_unique_id(argv[3]), rank, n, o);
    if (comm.cuda_device() != 0) report("cuda_device() = " + std::to_string(comm.cuda_device()));
    cudaStream_t s = nullptr;
    cuda_ok(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreate");

    const std::vector<Case> cases = worker_cases(n);
    std::size_t send_slice = 0, recv_slice = 0;
    for (const Case& c : cases) {
      send_slice = std::max(send_slice, (send_pool_bytes(c, n) + 255) / 256 * 256);
      recv_slice = std::max(recv_slice, (recv_pool_bytes(c, n) + 255) / 256 * 256);
    }
    constexpr int kInFlight = 10;
    Pools pools;
    cuda_ok(cudaMalloc(reinterpret_cast<void**>(&pools.send), send_slice * kInFlight),
            "cudaMalloc");
    cuda_ok(cudaMalloc(reinterpret_cast<void**>(&pools.recv), recv_slice * kInFlight),
            "cudaMalloc");
    auto sync = [&] {
      cuda_ok(cudaStreamSynchronize(s), "cudaStreamSynchronize");
      comm.check_async_error();
    };
    auto check = [&](const Call& call, const std::string& where) {
      for (const auto& p : call.verify()) report(where + call.c.describe() + ": " + p);
      ++calls;
    };

    // One at a time.
    for (const Case& c : cases) {
      Call call(c, n, rank, pools.send, pools.recv);
      call.stage(s);
      call.enqueue(comm, s);
      call.fetch(s);
      sync();
      check(call, "");
    }
    // Ten in flight on the stream, each on its own buffers.
    {
      std::vector<Call> in_flight;
      for (int k = 0; k < kInFlight; ++k) {
        Case c = cases[static_cast<std::size_t>(k * 3) % cases.size()];
        c.seed += 1000;
        in_flight.emplace_back(c, n, rank, pools.send + k * send_slice,
                               pools.recv + k * recv_slice);
      }
      for (Call& call : in_flight) {
        call.stage(s);
        call.enqueue(comm, s);
      }
      for (Call& call : in_flight) call.fetch(s);
      sync();
      for (const Call& call : in_flight) check(call, "in flight: ");
    }
    // A captured allreduce, replayed three times on fresh inputs (through
    // the proxy, a replay is not announced to it: it must find the work).
    {
      Case c;
      c.coll = Coll::AllReduce;
      c.dtype = DataType::Float32;
      c.count = 65537;
      Call call(c, n, rank, pools.send, pools.recv);
      sync();
      cuda_ok(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), "cudaStreamBeginCapture");
      cudaGraph_t graph = nullptr;
      try {
        call.enqueue(comm, s);
      } catch (...) {
        cudaStreamEndCapture(s, &graph);
        throw;
      }
      cuda_ok(cudaStreamEndCapture(s, &graph), "cudaStreamEndCapture");
      cudaGraphExec_t exec = nullptr;
      cuda_ok(cudaGraphInstantiate(&exec, graph, 0), "cudaGraphInstantiate");
      cudaGraphDestroy(graph);
      for (int launch = 0; launch < 3; ++launch) {
        call.c.seed = 2000 + static_cast<std::uint64_t>(launch);
        call.stage(s);
        cuda_ok(cudaGraphLaunch(exec, s), "cudaGraphLaunch");
        call.fetch(s);
        sync();
        check(call, "graph launch " + std::to_string(launch) + ": ");
      }
      cudaGraphExecDestroy(exec);
    }
    // Every rank's kernels are done once every rank got here: only then may
    // a rank free the FIFOs its peers write into. A host allreduce is that
    // barrier (and agrees on the verdict).
    std::int32_t mine = problems.empty() ? 1 : 0, all = 0;
    comm.allreduce(&mine, &all, 1, DataType::Int32, ReduceOp::Min);
    comm.destroy();
    cudaStreamDestroy(s);
    if (all == 0 && problems.empty()) {
      std::printf("device_worker %d/%d (%s): correct; another rank was not\n", rank, n,
                  label.c_str());
    }
  } catch (const Error& e) {
    report(std::string("colossus::Error [") + to_string(e.code()) + "]: " + e.what());
  } catch (const std::exception& e) {
    report(std::string("exception: ") + e.what());
  }
  if (!problems.empty()) {
    for (const auto& p : problems)
      std::fprintf(stderr, "device_worker %d/%d (%s): %s\n", rank, n, label.c_str(), p.c_str());
    return 1;
  }
  std::printf("device_worker %d/%d (%s): %zu device calls correct\n", rank, n, label.c_str(),
              calls);
  return 0;
}
