// algorithm.hpp: algorithms compile a collective call into one rank's Plan.
//
// An algorithm is a pure function (call, rank, parameters) -> Plan. It knows
// nothing of transports or buffers' addresses; the tuner picks the algorithm
// and its parameters, the executor runs the result, the verifier proves it.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include "algorithms/layout.hpp"
#include "plan/plan.hpp"

namespace colossus::algorithms {

enum class Algo : uint8_t {
  Ring,               // bandwidth-optimal, 2(n-1) steps per allreduce chunk
  Tree,               // allreduce: double binary; bcast, reduce: binary; gather, scatter: binomial
  Hierarchical,       // intra-node and per-rail inter-node phases (the classic five; alltoall)
  RecursiveDoubling,  // latency-optimal small-message allreduce: ceil(log2 n) exchanges
  Pairwise,           // all-to-all: n-1 rounds, round k sends to rank+k, receives from rank-k
  Bruck,              // small all-to-all: ceil(log2 n) rounds of packed blocks
  Direct,             // gather/scatter: the root talks to every rank; send/recv
};
inline constexpr int kNumAlgos = 7;
// "ring", "tree", "hierarchical", "recursive_doubling", "pairwise", "bruck", "direct"
const char* to_string(Algo a);
std::optional<Algo> parse_algo(std::string_view s);  // case-insensitive; also "rd", "hier"

struct AlgoParams {
  int nchannels = 1;                   // independent parts of the data, each its own schedule
  std::size_t chunk_bytes = 1u << 19;  // pipelining unit: a step moves at most this much
  const Layout* layout = nullptr;  // nodes of the ranks; null = one node (Hierarchical needs it)
};

// Whether `algo` implements `coll` (for any n and layout).
bool supports(Algo algo, plan::Collective coll);

// The Plan of `rank` for `args` under `algo`. Throws InvalidArgument when
// `algo` does not support the collective.
plan::Plan make_plan(Algo algo, const plan::CollArgs& args, int rank, const AlgoParams& params);

// Ring algorithms for all five collectives. Bandwidth-optimal; allreduce
// takes 2(n-1) steps per chunk, allgather and reduce_scatter n-1, broadcast
// and reduce a pipelined chain of n-1 hops.
plan::Plan ring_plan(const plan::CollArgs& args, int rank, const AlgoParams& params);

// Recursive doubling allreduce: log2(p) pairwise exchanges of the whole
// (chunked) vector among the largest power of two p <= n ranks; the n - p
// others first hand their input to a partner and get the result back.
plan::Plan recursive_doubling_plan(const plan::CollArgs& args, int rank, const AlgoParams& params);

// Double binary tree allreduce (two complementary trees, half the data
// each, on channels of their own: max(2, nchannels rounded up to even)
// channels), binary-tree broadcast and reduce, pipelined in chunks.
// (make_plan sends Tree's gather and scatter to tree_gather_plan.)
plan::Plan tree_plan(const plan::CollArgs& args, int rank, const AlgoParams& params);

// Binomial-tree gather and scatter over ranks relative to the root: every
// subtree is a contiguous range of relative ranks, which an inner rank
// stages in scratch and forwards as one transfer (chunked), so a small call
// takes ceil(log2 n) message latencies instead of the root's n-1 messages.
plan::Plan tree_gather_plan(const plan::CollArgs& args, int rank, const AlgoParams& params);

// Rail-aware hierarchical allreduce, allgather, reduce_scatter (and
// broadcast/reduce) over params.layout (null: one node); uneven and
// interleaved layouts too. Reduce_scatter and reduce may need scratch.
// (make_plan sends Hierarchical's alltoall to hierarchical_alltoall_plan.)
plan::Plan hierarchical_plan(const plan::CollArgs& args, int rank, const AlgoParams& params);

// Rail-aware all-to-all (NCCL's PXN routing): the block from (node a, local
// i) to (b, j) moves inside node a to (a, j), on the destination's rail,
// which sends node a's blocks for (b, j) to (b, j) as one message (per
// chunk); blocks for the own node go directly. G-1 network messages per rank
// and chunk instead of (G-1) x ranks per node, all rail-local; scratch of
// (G-1) x per-node x count elements. Alltoall only; uniform layouts only
// (InvalidArgument on an uneven one); one node is a pairwise exchange.
plan::Plan hierarchical_alltoall_plan(const plan::CollArgs& args, int rank,
                                      const AlgoParams& params);

// All-to-all (and alltoallv) by pairwise exchange: in round k = 1..n-1 each
// rank sends its block for rank+k and receives rank-k's block for it, chunk
// by chunk so that no send waits on a full FIFO the partner cannot drain.
// Channels split every block; one more channel copies the own block
// meanwhile.
plan::Plan pairwise_plan(const plan::CollArgs& args, int rank, const AlgoParams& params);

// Bruck's all-to-all for small blocks: blocks rotated into scratch, then in
// round k (k = 1, 2, 4, ...) every block whose index has bit k set is packed
// and sent to rank+k as one message; ceil(log2 n) messages per rank instead
// of n-1, each carrying about half the blocks. Alltoall only (even counts).
plan::Plan bruck_plan(const plan::CollArgs& args, int rank, const AlgoParams& params);

// Direct plans: send and recv (one chunked transfer on the point-to-point
// channels), gather (every rank sends its block to the root) and scatter
// (the root sends every rank its block).
plan::Plan direct_plan(const plan::CollArgs& args, int rank, const AlgoParams& params);

}  // namespace colossus::algorithms
