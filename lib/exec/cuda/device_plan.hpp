// device_plan.hpp: one channel of a Plan as plain data for the device-side executor.
//
// The device-side executor (channel_kernel.cuh) is a persistent kernel: one
// block per (rank, channel) walks that channel's Steps in order, each Step in
// pieces of one FIFO slot, reading and writing peers' buffers mapped over
// NVLink (cuda_ipc) and signalling with counters in peer memory. What it reads
// is below: host-built, copied to the device once per plan, no pointers to
// host memory except the abort flag (mapped pinned memory).
//
// FIFO protocol, per connection (this rank <-> one peer, on one channel), each
// direction a ring of `depth` slots of `slot_bytes` in the RECEIVER's memory:
//   sender:   wait until sent - *send_tail < depth   (a free slot; acquire)
//             write slot (sent % depth) in the peer's ring, then
//             *send_head_remote = ++sent                (release, system scope)
//   receiver: wait until *recv_head > received        (a message; acquire)
//             read slot (received % depth) of its own ring, then
//             *recv_tail_remote = ++received            (release, system scope)
// So the sender's head lives in the receiver's memory and the receiver's tail
// in the sender's: every wait spins on local memory, every signal is one
// remote store. Both ends cut a Step into the same pieces (slot_bytes /
// element size, in order), so a message needs no header.
// Counters only grow; `sent` and `received` persist across launches in the
// connection's progress words, so consecutive plans (and graph replays) on
// the same connections continue the count.
// A peer on another host is a host proxy (host_proxy.hpp): the same rings in
// pinned host memory, plus a size per slot, since the network needs lengths.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "plan/plan.hpp"

namespace colossus::exec::gpu {

// Distinct peers one channel talks to: recursive doubling over up to 2^15
// ranks needs log2(n) + 1 (and a core rank of 257..511 already 9).
inline constexpr int kMaxConns = 16;

// One Step. Offsets and counts in elements of the call's dtype.
struct DeviceStep {
  std::uint64_t src_offset = 0;
  std::uint64_t dst_offset = 0;
  std::uint64_t count = 0;      // elements moved (Step::count())
  std::uint8_t kind = 0;        // plan::StepKind
  std::uint8_t src_buffer = 0;  // plan::Buffer
  std::uint8_t dst_buffer = 0;  // plan::Buffer
  std::uint8_t finalize = 0;    // 1: divide by the work's divisor (Avg)
  std::int8_t recv_conn = -1;   // index into the channel's conns; -1: does not receive
  std::int8_t send_conn = -1;   // index into the channel's conns; -1: does not send
};

// One peer of one channel, both directions (see the protocol above).
struct DeviceConn {
  const void* recv_ring = nullptr;             // local: the peer writes here
  std::uint64_t* recv_head = nullptr;          // local: the peer's sent count
  std::uint64_t* recv_tail_remote = nullptr;   // peer memory: our received count
  void* send_ring_remote = nullptr;            // peer memory: we write here
  std::uint64_t* send_head_remote = nullptr;   // peer memory: our sent count
  std::uint64_t* send_tail = nullptr;          // local: the peer's received count
  std::uint32_t* send_sizes_remote = nullptr;  // peer memory, depth entries: bytes per slot
                                               // (host proxy peers only; null for GPU peers)
  // Device memory, 2 words: slots posted so far [0] and consumed so far [1].
  // One per connection, shared by every plan that uses it (device-updated).
  std::uint64_t* progress = nullptr;
};

enum class DeviceError : int { None = 0, Timeout = 1, Aborted = 2 };

// Written by the kernel when a channel stops early; zero-initialize it.
struct DeviceStatus {
  int error = 0;  // DeviceError
  int step = -1;  // step index the channel was waiting in
  int peer_conn = -1;
};

// One (rank, channel): one block of the persistent kernel.
struct DeviceWork {
  const DeviceStep* steps = nullptr;  // device memory
  int num_steps = 0;
  DeviceConn* conns = nullptr;  // device memory, num_conns entries
  int num_conns = 0;
  void* buffers[3] = {};         // indexed by plan::Buffer: send (read only), recv, scratch
  std::uint64_t slot_bytes = 0;  // multiple of 16
  std::uint32_t depth = 0;       // slots per ring, >= 1
  int divisor = 1;               // for finalize steps: nranks with Avg, else 1
  std::uint64_t timeout_ns = 0;  // per wait; 0: no deadline
  // Host-mapped, may be null. Nonzero stops every wait and every block at
  // entry. A block that fails sets it: later launches of this rank then stop
  // at once instead of running on counters the failed block never saved.
  volatile int* abort = nullptr;
  DeviceStatus* status = nullptr;  // device memory
};

// What one launch carries, by value in the kernel's parameters (so a launch
// captured into a CUDA graph replays with no host memory behind it).
inline constexpr int kMaxWorksPerLaunch = 32;
struct WorkBatch {
  DeviceWork works[kMaxWorksPerLaunch];
};
static_assert(sizeof(WorkBatch) <= 4096, "kernel parameters are limited to 4 KiB");

// A channel's Steps encoded, and which peer rank each conn index stands for
// (the caller builds conns[i] for peers[i] from its cuda_ipc connections).
struct EncodedChannel {
  std::vector<DeviceStep> steps;
  std::vector<int> peers;
};

// Throws colossus::Error(InvalidArgument) when the channel talks to more than
// kMaxConns peers or a step has no peer where its kind needs one.
EncodedChannel encode_channel(const plan::ChannelPlan& channel);

}  // namespace colossus::exec::gpu
