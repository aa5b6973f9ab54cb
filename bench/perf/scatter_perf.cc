// scatter_perf: nccl-tests' scatter_perf over colossus (see driver.hpp).
#include "perf/driver.hpp"

int main(int argc, char** argv) {
  return colossus::perf::run_tool(colossus::perf::scatter_collective(), argc, argv);
}
