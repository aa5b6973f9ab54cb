// mpi_alltoall_perf: the Open MPI peer of alltoall_perf.
//
// Times MPI_Alltoall with the same flags, sizes, element counts, busbw
// factor and table as alltoall_perf, and checks its results with
// alltoall_perf's own check (same pattern, same expected blocks), so the
// two run side by side in one run and compare column for column. Launch
// with mpirun. An alltoall moves data without arithmetic, so every -d type
// travels as the MPI unsigned integer of its size. Out of place only, like
// alltoall_perf (whose library has no in-place alltoall).
#include <mpi.h>

#include <climits>
#include <cstdio>
#include <string>
#include <vector>

#include "mpi_peer.hpp"
#include "perf/check.hpp"
#include "perf/collective.hpp"

using colossus::DataType;
using colossus::ReduceOp;
using namespace colossus::perf;

namespace {

MPI_Datatype same_size_type(std::size_t bytes) {
  switch (bytes) {
    case 1: return MPI_UINT8_T;
    case 2: return MPI_UINT16_T;
    case 4: return MPI_UINT32_T;
    default: return MPI_UINT64_T;
  }
}

}  // namespace

int main(int argc, char** argv) {
  int rank = 0, nranks = 1, exit_code = 0;
  const auto parsed = mpi::start(&argc, &argv, &rank, &nranks, &exit_code);
  if (!parsed) return exit_code;
  PerfOptions o = *parsed;
  const Collective& coll = alltoall_collective();
  if (o.max_bytes / nranks > static_cast<std::size_t>(INT_MAX)) {
    if (rank == 0) std::fprintf(stderr, "error: -e %zu: MPI counts are int\n", o.max_bytes);
    MPI_Finalize();
    return 1;
  }

  Report report(false);
  mpi::print_header(o, report, "MPI_Alltoall", std::string(coll.name).c_str());

  std::vector<unsigned char> send(o.max_bytes + 1), recv(o.max_bytes + 1);
  long long errors = 0;
  uint64_t seed = 0;
  for (DataType t : o.types) {
    const std::size_t es = colossus::dtype_size(t);
    const MPI_Datatype mt = same_size_type(es);
    const std::string type_name(to_string(t));
    for (std::size_t bytes : size_steps(o)) {
      const Counts c = coll.counts(bytes / es, nranks);
      const int block = static_cast<int>(c.param);
      // Each call at its own offset, as alltoall_perf walks its buffers.
      auto call = [&](int iter) {
        const std::size_t at = rotation_offset(c.send * es, o.max_bytes, iter);
        MPI_Alltoall(send.data() + at, block, mt, recv.data() + at, block, mt, MPI_COMM_WORLD);
      };
      RankCheck check(coll, t, ReduceOp::Sum, rank, nranks, 0);
      const CallBuffers b{send.data(), recv.data(), recv.data(), c.recv * es};
      if (rank == 0) report.row_start(c.send * es, c.param, type_name.c_str(), "none", -1);
      // Timed calls move checkable data, as in alltoall_perf.
      if (o.check) check.prepare(b, c, 99);
      for (int i = 0; i < o.warmup_iters; ++i) call(i);
      MPI_Barrier(MPI_COMM_WORLD);
      const double t0 = MPI_Wtime();
      for (int i = 0; i < o.iters * o.agg_iters; ++i) call(i);
      const double secs =
          mpi::combine_time((MPI_Wtime() - t0) / (o.iters * o.agg_iters), o.average, nranks);
      long long bad = -1;
      for (int rep = 0; rep < o.check; ++rep) {
        // MPI_Alltoall returns when this rank's buffers are free: no peer
        // still reads them, so the next fill needs no barrier.
        check.prepare(b, c, ++seed);
        call(0);
        long long mine = check.verify(b, c, false);
        MPI_Allreduce(&mine, &bad, 1, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
        errors += bad;
        if (bad) break;
      }
      const double algbw = secs > 0 ? static_cast<double>(c.send * es) / secs / 1e9 : 0;
      if (rank == 0) {
        report.result(secs, algbw, algbw * coll.busbw_factor(nranks), bad);
        report.not_measured();
        report.row_end();
      }
    }
  }
  bool ok = true;
  if (rank == 0) ok = report.summary(errors);
  MPI_Finalize();
  return ok ? 0 : 1;
}
