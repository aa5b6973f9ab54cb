// gather_perf: nccl-tests' gather_perf over colossus (see driver.hpp).
#include "perf/driver.hpp"

int main(int argc, char** argv) {
  return colossus::perf::run_tool(colossus::perf::gather_collective(), argc, argv);
}
