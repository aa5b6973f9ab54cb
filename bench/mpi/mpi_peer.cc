#include "mpi_peer.hpp"

#include <mpi.h>

#include <cstdio>
#include <string>
#include <vector>

namespace colossus::perf::mpi {

std::optional<PerfOptions> start(int* argc, char*** argv, int* rank, int* nranks, int* exit_code) {
  MPI_Init(argc, argv);
  MPI_Comm_rank(MPI_COMM_WORLD, rank);
  MPI_Comm_size(MPI_COMM_WORLD, nranks);
  *exit_code = 0;
  auto parsed = parse_options(*argc, *argv, exit_code);
  if (!parsed) {
    MPI_Finalize();
    return std::nullopt;
  }
  parsed->nthreads = 1;
  return parsed;
}

double combine_time(double s, Average how, int nranks) {
  double out = s;
  switch (how) {
    case Average::Rank0: MPI_Bcast(&out, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD); return out;
    case Average::Mean:
      MPI_Allreduce(&s, &out, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
      return out / nranks;
    case Average::Min: MPI_Allreduce(&s, &out, 1, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD); return out;
    case Average::Max: MPI_Allreduce(&s, &out, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD); return out;
  }
  return out;
}

void print_header(const PerfOptions& o, const Report& report, const char* call,
                  const char* no_in_place) {
  int rank = 0, nranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &nranks);
  // Every rank's device line, gathered to rank 0 in rank order.
  const std::string mine = Report::device_line(rank, 0, 0, "[cpu] host memory");
  char line[256] = {};
  std::snprintf(line, sizeof line, "%s", mine.c_str());
  std::vector<char> all(static_cast<std::size_t>(nranks) * sizeof line);
  MPI_Gather(line, sizeof line, MPI_CHAR, all.data(), sizeof line, MPI_CHAR, 0, MPI_COMM_WORLD);
  if (rank != 0) return;
  std::vector<std::string> lines;
  for (int r = 0; r < nranks; ++r)
    lines.emplace_back(&all[static_cast<std::size_t>(r) * sizeof line]);
  std::printf("# %s peer (Open MPI), %d processes\n", call, nranks);
  report.preamble(o, lines);
  report.table_header(no_in_place);
}

}  // namespace colossus::perf::mpi
