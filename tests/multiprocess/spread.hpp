// spread.hpp: a spread of collectives, dtypes, ops, counts and placements
// that one rank of a multi-process group runs and checks (each process
// checks its own outputs against the float64 reference).
#pragma once

#include <cstdio>
#include <vector>

#include "collectives/harness.hpp"
#include "colossus/colossus.hpp"

namespace colossus::test {

using plan::Collective;

inline std::vector<Case> spread() {
  const std::pair<DataType, ReduceOp> kinds[] = {
      {DataType::Float32, ReduceOp::Sum}, {DataType::Bfloat16, ReduceOp::Avg},
      {DataType::Int32, ReduceOp::Max},   {DataType::Float8e4m3, ReduceOp::Sum},
      {DataType::Int64, ReduceOp::Prod},  {DataType::Float64, ReduceOp::Min},
      {DataType::Uint8, ReduceOp::Sum}};
  std::vector<Case> cases;
  int i = 0;
  for (Collective coll : {Collective::AllReduce, Collective::AllGather, Collective::ReduceScatter,
                          Collective::Broadcast, Collective::Reduce}) {
    for (const auto& [t, op] : kinds) {
      for (std::size_t count : {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{1009},
                                std::size_t{65537}}) {
        Case c;
        c.coll = coll;
        c.dtype = t;
        c.op = op;
        c.count = count;
        c.root = i % 3;
        c.in_place = (i % 2) == 1;
        c.misaligned = (i % 5) == 2;
        cases.push_back(c);
        ++i;
      }
    }
  }
  return cases;
}

// Runs spread() on this rank: 0 when every case checked out, 1 otherwise.
inline int run_spread(Communicator comm) {
  const int rank = comm.rank(), n = comm.size();
  int bad = 0;
  for (Case c : spread()) {
    c.root %= n;
    const Inputs inputs = make_inputs(c, n);
    run_rank(c, n, rank, comm, inputs, [&](const std::string& what) {
      if (bad++ < 3) std::fprintf(stderr, "rank %d: %s: %s\n", rank, c.describe().c_str(), what.c_str());
    });
  }
  return bad == 0 ? 0 : 1;
}

}  // namespace colossus::test
