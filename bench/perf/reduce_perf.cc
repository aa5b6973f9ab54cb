// reduce_perf: nccl-tests' reduce_perf over colossus (see driver.hpp).
#include "perf/driver.hpp"

int main(int argc, char** argv) {
  return colossus::perf::run_tool(colossus::perf::reduce_collective(), argc, argv);
}
