// workload.hpp: what the simulator runs: every rank's Plans, as the engine
// would build them.
//
// A Workload names, per rank, the Plans that rank runs (one for a
// collective; a group's operations in job order, run together as the
// executor runs a group), and the symmetry those Plans are built to respect
// (algorithms/symmetry.hpp), which the simulator proves on sampled ranks
// before folding. The builders below make the Plans with the engine's own
// functions (algorithms::make_plan, direct_plan), never a model of them:
//
//   - collective(): any collective under an algorithm and its parameters;
//   - alltoallv(): pairwise all-to-all with per-pair counts (skew.hpp makes
//     them), each rank's VectorArgs built from the counts as the API takes
//     them (counts and displacements per peer);
//   - transfers(): a point-to-point pattern, every rank sending `count`
//     elements to at most one peer and receiving from at most one, each a
//     send/recv pair in one group (pipeline() and shift() are two such).
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "algorithms/symmetry.hpp"

namespace colossus::sim {

struct Workload {
  std::string name;  // "pairwise alltoall", "pipeline of 4 stages": for messages
  int nranks = 0;
  algorithms::PlansOf plans_of;  // rank -> its Plans, in job order
  // The symmetry the Plans are built to respect on `layout`, unproven
  // (Group::None with *why when none); null: none.
  std::function<algorithms::Symmetry(const algorithms::Layout& layout, std::string* why)> symmetry;
};

// `algo`'s Plans for `args` (params.layout must outlive the Workload).
Workload collective(const plan::CollArgs& args, algorithms::Algo algo,
                    const algorithms::AlgoParams& params);

// Elements rank `from` sends rank `to` (the diagonal is the rank's own block).
using PairCounts = std::function<std::size_t(int from, int to)>;

// Alltoallv of `nranks` ranks with counts(i, j) elements from i to j, blocks
// packed in peer order in both buffers, under `algo` (Pairwise: the one
// that implements it). Each rank's Plan is built on demand from its row
// and column of counts (O(nranks) calls of `counts` per rank).
Workload alltoallv(int nranks, DataType dtype, PairCounts counts, algorithms::Algo algo,
                   const algorithms::AlgoParams& params);

// Rank r sends `count` elements to send_to(r) and receives `count` from
// recv_from(r) (-1: none), as direct_plan's Send and Recv in one group
// (send first). Throws InvalidArgument unless the two describe the same
// transfers (send_to(r) = q exactly when recv_from(q) = r) and every peer
// is another rank.
Workload transfers(std::string name, int nranks, std::size_t count, DataType dtype,
                   const std::function<int(int)>& send_to,
                   const std::function<int(int)>& recv_from);

// Pipeline parallelism: ranks in `stages` consecutive stages of
// nranks / stages ranks; every rank of stage s < stages - 1 sends to the
// rank of the same index in stage s + 1. Throws InvalidArgument unless
// 2 <= stages and stages divides nranks.
Workload pipeline(int nranks, int stages, std::size_t count, DataType dtype);

// Every rank sends to rank + k and receives from rank - k (mod nranks);
// 0 < k < nranks.
Workload shift(int nranks, int k, std::size_t count, DataType dtype);

}  // namespace colossus::sim
