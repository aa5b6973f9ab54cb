// Which GroupProvider a run uses: mpirun (with MPI built in) > another
// launcher's environment > -t threads in this process.
#include "bootstrap/launch_env.hpp"
#include "perf/group.hpp"

namespace colossus::perf {

std::unique_ptr<GroupProvider> make_group(const PerfOptions& options) {
  const auto launch = bootstrap::detect_launch(bootstrap::process_environment());
  if (!launch) return make_thread_group(options.nthreads);
  if (options.nthreads != 1) {
    throw Error(ErrorCode::InvalidArgument, "-t " + std::to_string(options.nthreads) + " under " +
                                                launch->launcher +
                                                ": launched runs use one rank per process (-t 1)");
  }
  if (launch->launcher == "mpirun" && launch->bootstrap_host.empty()) {
    if (auto mpi = make_mpi_group()) return mpi;
  }
  return make_process_group();
}

}  // namespace colossus::perf
