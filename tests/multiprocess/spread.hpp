// spread.hpp: what one rank of a multi-process group runs and checks:
// every collective over the sweep's process spread (collectives/sweep.hpp),
// each process checking its own outputs against the float64 reference.
#pragma once

#include <cstdio>

#include "collectives/harness.hpp"
#include "collectives/sweep.hpp"
#include "colossus/colossus.hpp"

namespace colossus::test {

// Runs the spread on this rank: 0 when every case checked out, 1 otherwise.
inline int run_spread(Communicator comm) {
  const int rank = comm.rank(), n = comm.size();
  int bad = 0;
  for (const plan::Collective coll :
       {plan::Collective::AllReduce, plan::Collective::AllGather, plan::Collective::ReduceScatter,
        plan::Collective::Broadcast, plan::Collective::Reduce}) {
    for (const Case& c : cases(process_spread(), coll, n)) {
      const Inputs inputs = make_inputs(c, n);
      run_rank(c, n, rank, comm, inputs, [&](const std::string& what) {
        if (bad++ < 3)
          std::fprintf(stderr, "rank %d: %s: %s\n", rank, c.describe().c_str(), what.c_str());
      });
    }
  }
  return bad == 0 ? 0 : 1;
}

}  // namespace colossus::test
