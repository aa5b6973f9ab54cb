// reduce_scatter_perf: nccl-tests' reduce_scatter_perf over colossus (see driver.hpp).
#include "perf/driver.hpp"

int main(int argc, char** argv) {
  return colossus::perf::run_tool(colossus::perf::reduce_scatter_collective(), argc, argv);
}
