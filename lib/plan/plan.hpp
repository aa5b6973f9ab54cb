// plan.hpp: the Plan IR shared by the executor, the verifier and the simulator.
//
// A Plan is one rank's schedule for one call (a collective, an all-to-all,
// gather or scatter, or one side of a send/recv): per channel, an ordered
// list of Steps over Slices. Plans are generated per rank on demand
// (a pure function of the call and the rank), never for all ranks at once.
//
// Step semantics ("msg" is the message received from recv_peer on this
// channel; "send(x)" appends x to the stream to send_peer on this channel):
//
//   Send                send(src)
//   Recv                dst = msg
//   RecvReduce          dst = msg (+) src
//   RecvReduceSend      send(msg (+) src)            -- no local store
//   RecvCopySend        dst = msg;  send(msg)
//   RecvReduceCopySend  dst = msg (+) src;  send(dst)
//   Copy                dst = src
//   Reduce              dst = dst (+) src
//
// (+) is the call's reduction op; for Avg it is Sum, and a step with
// `finalize` set divides what it stores and sends by the number of ranks.
// Messages between a pair of ranks on one channel are matched in order and
// must agree in element count. All counts and offsets are in elements of
// the call's data type. Steps of one channel run in order; channels run
// concurrently and never talk to each other.
//
// Rules every Plan keeps (the verifier checks each):
//   - the send buffer is read-only;
//   - channels of one rank never touch memory another channel writes;
//   - `finalize` is set exactly once on the path to each reduced output
//     element, on the step that completes the reduction, and nothing is
//     reduced into a value after it;
//   - with FIFO depth d and message (slot) size s, no step moves more than
//     s*(d-1) bytes: a ring step that receives and sends needs a free slot
//     while the stream still holds its predecessor's message.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "colossus/types.hpp"
#include "plan/step_io.hpp"

namespace colossus::plan {

enum class Collective : uint8_t {
  AllReduce,
  AllGather,
  ReduceScatter,
  Broadcast,
  Reduce,
  AllToAll,
  AllToAllv,
  Gather,
  Scatter,
  Send,  // one side of a point-to-point transfer; `root` is the peer
  Recv,
};
inline constexpr int kNumCollectives = 11;
const char* to_string(Collective c);
// The names NCCL_ALGO / COLOSSUS_ALGO and the tools use, any case:
// "allreduce", "allgather", "reduce_scatter" (or "reducescatter"),
// "broadcast", "reduce", "alltoall", "alltoallv", "gather", "scatter",
// "send", "recv". Empty on anything else.
std::optional<Collective> parse_collective(std::string_view name);
// "allreduce, allgather, ...": for messages.
const char* collective_names();

// Whether the call reduces (has a meaningful op), has a root, or is one side
// of a point-to-point transfer (root = the peer).
constexpr bool is_reducing(Collective c) {
  return c == Collective::AllReduce || c == Collective::ReduceScatter || c == Collective::Reduce;
}
constexpr bool is_rooted(Collective c) {
  return c == Collective::Broadcast || c == Collective::Reduce || c == Collective::Gather ||
         c == Collective::Scatter;
}
constexpr bool is_p2p(Collective c) { return c == Collective::Send || c == Collective::Recv; }
// Whether the call's data only moves, block for block (alltoall(v), gather,
// scatter, send/recv): what a rank sends, its peer mostly just receives.
constexpr bool is_exchange(Collective c) {
  return c == Collective::AllToAll || c == Collective::AllToAllv || c == Collective::Gather ||
         c == Collective::Scatter || is_p2p(c);
}

// Per-peer counts and displacements of one rank's alltoallv, in elements:
// block q of the send buffer (send_displs[q], send_counts[q] elements) goes
// to rank q, and rank q's block for this rank lands at recv_displs[q].
struct VectorArgs {
  std::vector<std::size_t> send_counts, send_displs, recv_counts, recv_displs;
  bool operator==(const VectorArgs&) const = default;
};

// The arguments of one call as an algorithm sees them. `count` follows the
// API: allreduce/broadcast/reduce/send/recv: elements per buffer; allgather,
// gather: elements sent per rank; reduce_scatter, scatter: elements received
// per rank; alltoall: elements per block (each rank sends every rank one
// block); alltoallv: unused (see `v`).
struct CollArgs {
  Collective coll = Collective::AllReduce;
  std::size_t count = 0;
  DataType dtype = DataType::Float32;
  ReduceOp op = ReduceOp::Sum;
  int root = 0;  // broadcast, reduce, gather, scatter: the root; send/recv: the peer
  int nranks = 1;
  std::shared_ptr<const VectorArgs> v;  // alltoallv only: this rank's counts
};

// Elements in each of the call's buffers (alltoallv: up to the end of its
// furthest block). Send has no recv buffer and Recv no send buffer: 0.
std::size_t send_count(const CollArgs& a);
std::size_t recv_count(const CollArgs& a);
// Elements the call moves in all (alltoallv: this rank's send counts).
std::size_t total_send(const CollArgs& a);
// Whether this rank's part of the call moves no data at all (count 0;
// alltoallv: every count 0), so it needs no Plan.
bool moves_nothing(const CollArgs& a);

// Transport channels [0, kP2PChannelBase) carry collectives; point-to-point
// Plans run on channels from kP2PChannelBase up, so that a send never lands
// in the middle of a collective's stream between the same two ranks.
inline constexpr int kP2PChannelBase = 64;

enum class Buffer : uint8_t { Send, Recv, Scratch };
const char* to_string(Buffer b);

struct Slice {
  Buffer buffer = Buffer::Send;
  std::size_t offset = 0;  // elements
  std::size_t count = 0;   // elements
};

// StepKind, and what each kind reads and writes (receives, sends, reads_src,
// writes_dst, reduces): step_io.hpp.
const char* to_string(StepKind k);

struct Step {
  StepKind kind = StepKind::Copy;
  bool finalize = false;   // apply the op's post-processing (Avg: divide by nranks)
  int32_t send_peer = -1;  // rank sent to, for kinds that send
  int32_t recv_peer = -1;  // rank received from, for kinds that receive
  Slice src;               // local input, for kinds that read one
  Slice dst;               // local output, for kinds that write one
  // Elements this step moves: the message size for communicating steps.
  std::size_t count() const { return writes_dst(kind) ? dst.count : src.count; }
};

struct ChannelPlan {
  std::vector<Step> steps;
};

struct Plan {
  CollArgs args;
  int rank = 0;
  std::string algorithm;  // "ring", ...
  // channels[c]'s messages travel on transport channel channel_base + c
  // (0 for collectives, kP2PChannelBase for point-to-point).
  int channel_base = 0;
  std::vector<ChannelPlan> channels;
  std::size_t scratch_count = 0;  // elements of scratch the plan needs
  std::size_t num_steps() const;
};

// One line per step, for COLOSSUS_DEBUG=TRACE and test failure messages.
std::string describe(const Step& s);
std::string describe(const Plan& p);

}  // namespace colossus::plan
