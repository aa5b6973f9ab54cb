// broadcast_perf: nccl-tests' broadcast_perf over colossus (see driver.hpp).
#include "perf/driver.hpp"

int main(int argc, char** argv) {
  return colossus::perf::run_tool(colossus::perf::broadcast_collective(), argc, argv);
}
