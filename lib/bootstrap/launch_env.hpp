// launch_env.hpp: who am I, according to the launcher that started me.
//
// Recognizes colossus-run (COLOSSUS_RANK, ...), torchrun (RANK, WORLD_SIZE,
// LOCAL_RANK, MASTER_ADDR, MASTER_PORT), Open MPI's mpirun
// (OMPI_COMM_WORLD_*) and Slurm's srun (SLURM_PROCID, SLURM_NTASKS, ...),
// in that order. The rendezvous address comes from COLOSSUS_BOOTSTRAP_ADDR,
// else from the launcher (torchrun's MASTER_ADDR:MASTER_PORT); mpirun and
// srun give none, so they need COLOSSUS_BOOTSTRAP_ADDR (or the unique-id
// API with MPI_Bcast, as the *_perf tools do).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "bootstrap/unique_id.hpp"

namespace colossus::bootstrap {

struct LaunchInfo {
  std::string launcher;  // "colossus-run", "torchrun", "mpirun", "srun"
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string bootstrap_host;  // "" when the launcher gives none
  int bootstrap_port = 0;
  // Shared by every rank of the job and different across jobs; derived from
  // the launcher's job id. It keeps concurrent jobs apart; it is no secret
  // against someone who can read the job's environment.
  uint64_t job_key = 0;
};

using Environment = std::map<std::string, std::string>;

// The current process's environment.
Environment process_environment();

// nullopt when no launcher is recognized. Throws Error(InvalidArgument) on a
// recognized launcher with malformed values (rank out of range, bad port).
std::optional<LaunchInfo> detect_launch(const Environment& env);

// The job's unique id, from its rendezvous address and job key: rank 0
// makes it (listening there at once), the other ranks compute the same
// bytes. Throws Error(InvalidUsage), its text starting with `caller`, when
// the launcher gives no rendezvous address (mpirun, srun without
// COLOSSUS_BOOTSTRAP_ADDR).
UniqueId launch_unique_id(const LaunchInfo& launch, const std::string& caller);

}  // namespace colossus::bootstrap
