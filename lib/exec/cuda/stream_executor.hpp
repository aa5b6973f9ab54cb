// stream_executor.hpp: one rank's collectives on device buffers, stream-ordered.
//
// The device counterpart of exec::Executor. run() turns a Plan into one
// launch of the persistent channel kernel (channel_kernel.cuh) on the
// caller's stream and returns at once, as NCCL does: the data moves when
// the stream gets there. Peers are reached by what they are to this rank:
//
//   SameProcess  a rank on a thread of this process: its device memory is
//                addressed directly (same GPU, or a peer-enabled one)
//   SameHost     another process on this host: CUDA IPC handles, exchanged
//                once per (peer, channel) over the host transport
//   Network      another host: the host proxy (host_proxy.hpp) carries the
//                slots over the network transport from pinned host rings
//
// Connections (device_links.hpp) are made on the first Plan that uses them
// and kept; their counters live in device memory, so a launch replayed from
// a CUDA graph continues where the last launch stopped. Inside stream
// capture, the allocations a first call needs are made in relaxed capture
// mode, and the kernel's parameters carry everything else (WorkBatch).
//
// Errors on the device (a wait past the deadline, a peer that failed) are
// written to host-mapped status words; check_error() (called at the start of
// every run) throws the first one. After one, the communicator is unusable.
//
// Thread safety: one StreamExecutor per rank, used by one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "colossus/types.hpp"
#include "plan/plan.hpp"
#include "transports/transport.hpp"

typedef struct CUstream_st* cudaStream_t;  // as CUDA declares it; no CUDA header needed here

namespace colossus::exec::gpu {

enum class PeerReach : std::uint8_t { SameProcess, SameHost, Network };

// What a rank's GPU is, for sizing the kernel's grid across the ranks that
// share it: every rank sharing one GPU must be resident at once.
struct DeviceInfo {
  std::string bus_id;       // PCI bus id; ranks with equal (host, bus_id) share a GPU
  int resident_blocks = 0;  // channel-kernel blocks the GPU holds at once
  std::string name;
};
// Throws Error(InvalidUsage) when built without CUDA, Error(InvalidArgument)
// for a device this process cannot use.
DeviceInfo describe_device(int device);

// The most channels each of `sharing` ranks on one GPU may run so that all
// are resident together (at least 1; the device kernel's limit per launch
// applies separately).
int max_resident_channels(int resident_blocks, int sharing);

struct StreamSetup {
  int device = -1;
  double timeout_s = 300;
  std::size_t slot_bytes = 0;
  std::uint32_t depth = 4;
  transport::Transport* control = nullptr;  // host transport to every peer: handle exchange
  std::vector<PeerReach> reach;             // by rank (own entry ignored)
  // Ranks of this process on this GPU (a loopback group): their kernels must
  // run concurrently, which the legacy default stream would prevent.
  int threads_sharing_gpu = 1;
  // Carries the Network peers (constructed collectively by init()); null
  // when there are none. The doorbell it was built with travels with it.
  std::unique_ptr<transport::Doorbell> net_bell;
  std::unique_ptr<transport::Transport> net;
};

class StreamExecutor {
 public:
  virtual ~StreamExecutor() = default;
  virtual int device() const = 0;
  // Enqueues `plan` on `stream`. send/recv: device pointers on device(),
  // checked (InvalidArgument otherwise). Throws the first earlier device
  // error before enqueuing anything.
  virtual void run(const plan::Plan& plan, const void* send, void* recv, cudaStream_t stream) = 0;
  // Throws the first device-side error seen so far; returns if none.
  virtual void check_error() = 0;
};

// Whether CUDA says `p` is device (or managed) memory, which host code must
// not touch. False without CUDA. Initializes CUDA: call it only once a GPU
// is in use.
bool is_device_memory(const void* p);

// Throws Error(InvalidUsage) when the library was built without CUDA.
std::unique_ptr<StreamExecutor> make_stream_executor(StreamSetup setup);

}  // namespace colossus::exec::gpu
