// all_reduce_perf: nccl-tests' all_reduce_perf over colossus (see driver.hpp).
#include "perf/driver.hpp"

int main(int argc, char** argv) {
  return colossus::perf::run_tool(colossus::perf::all_reduce_collective(), argc, argv);
}
