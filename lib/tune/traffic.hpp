// traffic.hpp: what an algorithm's Plans send where, read off the Plans.
//
// The tuner does not keep its own formula per algorithm: it generates the
// Plans of every rank for a representative call (one chunk per channel;
// smaller calls as they are) and counts, per NIC and per rank's on-node
// port, the bytes that go out and come in (a gather's root receives what
// every rank sends); and it replays those Plans in latency-only virtual time
// (each receive waits for its message's send plus the link's latency, each
// step costs step_us) to find the critical path: 2(n-1) hops for a ring
// allreduce, 2 log2 n for a tree, n-1 for a pairwise all-to-all, whatever
// the Plans say. Those are fractions of the call's size, independent of it,
// so one count serves every size of a (collective, algorithm, channels)
// triple. Plans that fold (algorithms/symmetry.hpp, proved on sampled
// ranks) are counted on one node's ranks, the same counts at a node's cost;
// others one Plan per rank, O(n * steps), up to kMaxTrafficRanks and
// refused (InvalidArgument) above it, as are calls that differ by rank
// (alltoallv, send, recv). Callers cache the result.
#pragma once

#include "algorithms/algorithm.hpp"
#include "tune/cost_model.hpp"

namespace colossus::tune {

// Plans of all ranks are held at once for the replay: at 256 ranks x 8
// channels a ring allgather is ~0.5M steps (~33 MB); at 1024 it would be
// 16 times that.
inline constexpr int kMaxTrafficRanks = 256;
// Steps of the counted Plans held at once (64 bytes each): a candidate
// above it is not counted (InvalidArgument), as Bruck all-to-all with 8
// channels on 256 ranks (~5M steps: n block copies per round and channel).
inline constexpr std::size_t kMaxTrafficSteps = 2'000'000;

struct Traffic {
  double nic_bytes = 0;    // most loaded NIC, one direction: bytes per byte of the call's vector
  double intra_bytes = 0;  // most loaded rank's on-node port, one direction: bytes per byte
  double work_bytes = 0;   // most loaded rank: bytes its copy/reduce loops read + write, per byte
  int hops = 0;            // link hops on the critical path, one chunk
  double critical_us = 0;  // latency-only time of one chunk: hops' latencies + step costs
  std::size_t steps = 0;   // rank 0's steps in the one-chunk Plans (all channels)
  bool crosses_nodes = false;
};

// Memory traffic of a step's loop per byte it moves: reads plus writes (a
// send reads the source and writes the slot, RecvReduceSend reads the
// message and the source and writes the slot: 3, ...).
double memory_passes(plan::StepKind k);

// Bytes of the call's whole vector: what allreduce/broadcast/reduce/send/recv
// pass in `count`, allgather's output, reduce_scatter's input, alltoall's
// buffer (count x n), gather's output and scatter's input (count x n),
// alltoallv's send counts.
double vector_bytes(const plan::CollArgs& args);

// Elements of the representative call; calls below it are counted as they are.
// Alltoall, gather and scatter count per block (count), like allgather.
std::size_t representative_count(const plan::CollArgs& args, int nchannels);

Traffic plan_traffic(const CostModel& model, const algorithms::Layout& layout,
                     const plan::CollArgs& args, algorithms::Algo algo, int nchannels);

}  // namespace colossus::tune
