// Command line of colossus-run and the rank placement it implies.
//
// Parsing is pure (no I/O, no process state), so every rule about what a
// command line means lives here and bad usage is one exception type that
// main() turns into a message and exit code 2.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace colossus::run {

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Options {
  int nranks = 0;
  std::vector<std::string> hosts;  // network namespace names; empty = this host only
  int ranks_per_host = 0;          // resolved by parse_options(): never 0 afterwards
  double timeout_s = 0;            // 0 = no timeout
  bool tag_output = true;
  // "core": rank i of a host on the i-th CPU it may use, when the host's
  // ranks fit on its CPUs (Open MPI's default for few ranks); "none": never.
  std::string bind_to = "core";
  bool help = false;
  std::vector<std::string> command;  // PROGRAM ARGS...
};

// Where one rank runs and what it is told about its neighbours on that host.
struct Placement {
  int rank = 0;
  int host_index = -1;  // index into Options::hosts; -1 = this host, no namespace
  int local_rank = 0;
  int local_size = 0;
};

// Throws UsageError. argv[0] is skipped.
Options parse_options(int argc, const char* const* argv);

// Host-major: ranks 0..R-1 on hosts[0], R..2R-1 on hosts[1], ...
std::vector<Placement> place_ranks(const Options& options);

const char* usage_text();

}  // namespace colossus::run
