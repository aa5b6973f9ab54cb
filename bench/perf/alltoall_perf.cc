// alltoall_perf: nccl-tests' alltoall_perf over colossus (see driver.hpp).
#include "perf/driver.hpp"

int main(int argc, char** argv) {
  return colossus::perf::run_tool(colossus::perf::alltoall_collective(), argc, argv);
}
