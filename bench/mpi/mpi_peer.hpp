// mpi_peer.hpp: what the Open MPI peers of the *_perf tools share, so that
// their output compares with the tools' column for column: the per-rank
// time combined as -a says, and the preamble with every rank's line.
#pragma once

#include <optional>

#include "perf/options.hpp"
#include "perf/report.hpp"

namespace colossus::perf::mpi {

// MPI_Init, this rank and the job's size, and the tools' options (one rank
// per process). Null after help or a bad flag: MPI is then finalized and
// the process should return *exit_code.
std::optional<PerfOptions> start(int* argc, char*** argv, int* rank, int* nranks, int* exit_code);

// Mean (or min/max/rank 0, per -a) over MPI_COMM_WORLD of this rank's seconds.
double combine_time(double seconds, Average how, int nranks);

// Rank 0 prints "# <call> peer (Open MPI), N processes", the preamble and
// the table header (`no_in_place`: as Report::table_header); every rank
// takes part (the device lines are gathered).
void print_header(const PerfOptions& o, const Report& report, const char* call,
                  const char* no_in_place = nullptr);

}  // namespace colossus::perf::mpi
