// link_cut_worker: one rank of tests/testbed/link_cut.sh. Runs allreduces in
// a loop (init_from_env, under colossus-run on the testbed) until one
// throws, then prints one line and exits 0, so that colossus-run lets the
// other ranks report too:
//   LOOPING                                  after the first 3 allreduces
//   LINKCUT-ERROR code=<code> t=<realtime s> <what>
//   LINKCUT-NOERROR                          no error within argv[1] s (default 120)
// The script cuts the link between the hosts after every rank printed
// LOOPING and checks the error lines.
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "colossus/colossus.hpp"

namespace {
double realtime_s() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}
}  // namespace

int main(int argc, char** argv) {
  const double limit_s = argc > 1 ? std::atof(argv[1]) : 120.0;
  colossus::Communicator comm;
  try {
    comm = colossus::init_from_env();
  } catch (const colossus::Error& e) {
    std::printf("LINKCUT-INIT-FAILED code=%s %s\n", colossus::to_string(e.code()), e.what());
    return 1;
  }
  const int n = comm.size();
  std::vector<float> buf(1 << 16);
  const auto start = std::chrono::steady_clock::now();
  try {
    for (long i = 0;; ++i) {
      for (auto& x : buf) x = 1.0f;
      comm.allreduce(buf.data(), buf.data(), buf.size(), colossus::DataType::Float32,
                     colossus::ReduceOp::Sum);
      if (buf[17] != static_cast<float>(n)) {
        std::printf("LINKCUT-WRONG allreduce %ld gave %g\n", i, static_cast<double>(buf[17]));
        return 1;
      }
      if (i == 2) {
        std::printf("LOOPING\n");
        std::fflush(stdout);
      }
      if (std::chrono::steady_clock::now() - start > std::chrono::duration<double>(limit_s)) {
        std::printf("LINKCUT-NOERROR after %ld allreduces\n", i + 1);
        return 0;
      }
    }
  } catch (const colossus::Error& e) {
    std::string what = e.what();
    for (auto& c : what)
      if (c == '\n') c = ' ';
    std::printf("LINKCUT-ERROR code=%s t=%.3f %s\n", colossus::to_string(e.code()), realtime_s(),
                what.c_str());
    std::fflush(stdout);
  }
  return 0;
}
