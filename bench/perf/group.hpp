// group.hpp: where a *_perf run gets its communicators.
//
// The timing and reporting code sees a GroupProvider, never how ranks were
// made: threads of one process (-t N), or one rank per process under a
// launcher (mpirun, srun, colossus-run, torchrun). A provider decides where
// the ranks are and asks the tool's back end (backend.hpp: the C++ API or
// NCCL's C API) for their communicators; it combines statistics across
// processes; the driver combines across its own threads first and calls
// the provider from one thread per process.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "colossus/colossus.hpp"
#include "perf/backend.hpp"
#include "perf/options.hpp"

namespace colossus::perf {

class GroupProvider {
 public:
  enum class Combine { Sum, Min, Max, First };  // First: global rank 0's value

  virtual ~GroupProvider() = default;

  virtual int world_size() const = 0;   // ranks in the whole run
  virtual int local_ranks() const = 0;  // ranks of this process, one thread each
  virtual int first_rank() const = 0;   // global rank of this process's local rank 0
  virtual bool prints() const = 0;      // whether this process writes the report
  virtual int group_color() const = 0;  // the "Group" column of the device lines

  // Communicators of this process's ranks, from the tool's back end
  // (backend.hpp); element i is global rank first_rank() + i. Called once,
  // before any thread starts.
  virtual CommList connect(const Options& options) = 0;

  // One value per process in, the combination over processes out.
  virtual double combine(double value, Combine how) = 0;
  // This process's lines in, every process's lines in rank order out (on
  // the printing process; others may get an empty list).
  virtual std::vector<std::string> gather_lines(const std::vector<std::string>& lines) = 0;
};

// Ranks as threads of this process (make_local_comms).
std::unique_ptr<GroupProvider> make_thread_group(int nthreads);

// One rank per process from the launcher's environment (make_launched_comm).
std::unique_ptr<GroupProvider> make_process_group();

// One rank per process under mpirun: rank 0's unique id goes out by
// MPI_Bcast, as nccl-tests does. nullptr when built without MPI.
std::unique_ptr<GroupProvider> make_mpi_group();

// The provider for this run: under mpirun with MPI built in, the MPI group;
// under another launcher (or mpirun without MPI), the process group; else
// -t threads. Throws colossus::Error for -t > 1 under a launcher.
std::unique_ptr<GroupProvider> make_group(const PerfOptions& options);

}  // namespace colossus::perf
