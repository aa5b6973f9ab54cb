// sendrecv_perf: nccl-tests' sendrecv_perf over colossus (see driver.hpp).
#include "perf/driver.hpp"

int main(int argc, char** argv) {
  return colossus::perf::run_tool(colossus::perf::sendrecv_collective(), argc, argv);
}
