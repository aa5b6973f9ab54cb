// One launch: N rank processes, their output, and the rules for ending them.
//
// Contract:
// - Each rank runs in its own process group (so a signal reaches everything
//   the rank started) with PR_SET_PDEATHSIG=SIGKILL (so it dies if
//   colossus-run is killed outright). When a rank's main process exits,
//   whatever is left in its group is SIGKILLed. colossus-run is a child
//   subreaper, so processes that left their group (setsid daemons) are
//   reparented to it; they are SIGKILLed once the last rank has exited.
// - The first rank to exit non-zero or by a signal decides the exit status;
//   the others get SIGTERM, then SIGKILL after kGraceSeconds.
// - --timeout and SIGINT/SIGTERM to colossus-run end the job the same way
//   (exit 124, 128+signal); a second SIGINT/SIGTERM kills at once.
// - Ranks read /dev/null: stdin is not forwarded.
// - If colossus-run's stdout or stderr reader goes away (`| head`), the job
//   is stopped as above and colossus-run exits 141 (128+SIGPIPE).
#pragma once

#include <string>
#include <vector>

#include "colossus-run/options.hpp"

namespace colossus::run {

inline constexpr double kGraceSeconds = 2.0;
// After the last rank exits and its leftovers are killed, how long to keep
// reading output from processes that still hold a rank's pipe open (ones
// colossus-run cannot reach); then the pipes are closed.
inline constexpr double kDrainSeconds = 1.0;

struct JobSpec {
  std::vector<std::string> command;
  std::vector<std::string> hosts;
  std::vector<Placement> placements;
  std::string bootstrap_addr;  // "ADDR:PORT"
  std::string job_id;
  double timeout_s = 0;
  bool tag_output = true;
  std::string bind_to = "core";  // "core" or "none", see Options::bind_to
};

// Runs the job to the end and returns colossus-run's exit status. Throws
// std::runtime_error when the job cannot be started (after killing any rank
// already started).
int run_job(const JobSpec& spec);

}  // namespace colossus::run
