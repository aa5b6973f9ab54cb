// mp_worker: one rank of a launched job (colossus-run, torchrun, srun,
// mpirun + COLOSSUS_BOOTSTRAP_ADDR). Runs every collective over a spread of
// dtypes, ops and counts, checks its own outputs, exits 0 iff all are right.
#include <cstdio>

#include "multiprocess/spread.hpp"

int main() {
  try {
    colossus::Communicator comm = colossus::init_from_env();
    const int rank = comm.rank(), n = comm.size();
    const int rc = colossus::test::run_spread(std::move(comm));
    std::printf("rank %d/%d: %s\n", rank, n, rc == 0 ? "all collectives correct" : "WRONG RESULTS");
    return rc;
  } catch (const colossus::Error& e) {
    std::fprintf(stderr, "mp_worker: [%s] %s\n", colossus::to_string(e.code()), e.what());
    return 1;
  }
}
