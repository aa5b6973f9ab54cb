// algorithm.hpp: algorithms compile a collective call into one rank's Plan.
//
// An algorithm is a pure function (call, rank, parameters) -> Plan. It knows
// nothing of transports or buffers' addresses; the tuner picks the
// parameters, the executor runs the result, the verifier proves it.
#pragma once

#include <cstddef>

#include "plan/plan.hpp"

namespace colossus::algorithms {

struct AlgoParams {
  int nchannels = 1;                   // independent rings, each over its own part of the data
  std::size_t chunk_bytes = 1u << 19;  // pipelining unit: a step moves at most this much
};

// Ring algorithms for all five collectives. Bandwidth-optimal; allreduce
// takes 2(n-1) steps per chunk, allgather and reduce_scatter n-1, broadcast
// and reduce a pipelined chain of n-1 hops.
plan::Plan ring_plan(const plan::CollArgs& args, int rank, const AlgoParams& params);

}  // namespace colossus::algorithms
