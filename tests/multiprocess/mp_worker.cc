// mp_worker: one rank of a launched job (colossus-run, torchrun, srun,
// mpirun + COLOSSUS_BOOTSTRAP_ADDR). Runs every collective (alltoall(v),
// gather, scatter and the send/recv pattern too) over the sweep's process
// spread of dtypes, ops and counts (collectives/sweep.hpp), checks its own
// outputs against the float64 reference, exits 0 iff all are right.
#include <cstdio>
#include <string>

#include "collectives/harness.hpp"
#include "collectives/sweep.hpp"
#include "colossus/colossus.hpp"

namespace {

using colossus::plan::Collective;
namespace test = colossus::test;

// 0 when every case checked out on this rank, 1 otherwise.
int run_spread(colossus::Communicator& comm) {
  const int rank = comm.rank(), n = comm.size();
  int bad = 0;
  for (const Collective coll :
       {Collective::AllReduce, Collective::AllGather, Collective::ReduceScatter,
        Collective::Broadcast, Collective::Reduce, Collective::AllToAll, Collective::AllToAllv,
        Collective::Gather, Collective::Scatter, Collective::Send}) {
    for (const test::Case& c : test::cases(test::process_spread(coll), coll, n)) {
      const test::Inputs inputs = test::make_inputs(c, n);
      test::run_rank(c, n, rank, comm, inputs, [&](const std::string& what) {
        if (bad++ < 3)
          std::fprintf(stderr, "rank %d: %s: %s\n", rank, c.describe().c_str(), what.c_str());
      });
    }
  }
  return bad == 0 ? 0 : 1;
}

}  // namespace

int main() {
  try {
    colossus::Communicator comm = colossus::init_from_env();
    const int rank = comm.rank(), n = comm.size();
    const int rc = run_spread(comm);
    std::printf("rank %d/%d: %s\n", rank, n, rc == 0 ? "all collectives correct" : "WRONG RESULTS");
    return rc;
  } catch (const colossus::Error& e) {
    std::fprintf(stderr, "mp_worker: [%s] %s\n", colossus::to_string(e.code()), e.what());
    return 1;
  }
}
