// shm_bench: allreduce bandwidth between forked processes over the shm
// transport, until the *_perf tools run multi-process through the bootstrap.
//
//   shm_bench [-n procs] [-b min] [-e max] [-f factor] [-d float|bfloat16] [-w warmup] [-t 0|1|2]
//
// -t 1 runs the ranks as threads of one process instead (still over shm), to
// tell the transport's cost from the cost of being separate processes; -t 2
// runs threads over the loopback transport: the same harness as a baseline.
//
// Prints an nccl-tests style table (out of place, sum): size, time per call,
// algbw = size / time, busbw = algbw * 2(n-1)/n. COLOSSUS_* variables apply
// (slot size, channels, chunk). Not a test: the numbers depend on the host.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "base/config.hpp"
#include "support/fork_oob.hpp"
#include "support/shm_support.hpp"
#include "support/thread_oob.hpp"

using namespace colossus;

namespace {

// -b/-e: the library's byte sizes (base::parse_bytes); bad input ends the run.
std::size_t parse_size(const char* flag, const char* text) {
  std::size_t bytes = 0;
  if (!base::parse_bytes(text, &bytes)) {
    std::fprintf(stderr, "shm_bench: %s expects a size (4096, 64K, 1.5M), got '%s'\n", flag, text);
    std::exit(2);
  }
  return bytes;
}

struct Args {
  int nprocs = 2;
  std::size_t min_bytes = 4096, max_bytes = 64 << 20;
  int factor = 4;
  DataType dtype = DataType::Float32;
  int warmup = 5;
  int threads = 0;  // 0: processes over shm, 1: threads over shm, 2: threads over loopback
};

// Rank 0 prints; every rank runs the same calls.
std::string bench(const Args& a, int rank, bootstrap::OutOfBand& oob, Communicator* given) {
  Options o;
  o.timeout_s = 120;
  Communicator own = given ? Communicator() : test::shm_communicator(oob, o);
  Communicator& comm = given ? *given : own;
  const std::size_t es = dtype_size(a.dtype);
  std::vector<std::byte> send(a.max_bytes), recv(a.max_bytes);
  for (std::size_t i = 0; i < send.size(); ++i) send[i] = std::byte(i % 7 == 0 ? 0x3c : 0);
  const double busfactor = 2.0 * (a.nprocs - 1) / a.nprocs;
  if (rank == 0) {
    std::printf("# shm allreduce, %d %s%s, %s sum, out of place\n", a.nprocs,
                a.threads ? "threads" : "processes", a.threads == 2 ? "(loopback transport)" : "",
                a.dtype == DataType::Float32 ? "float" : "bfloat16");
    std::printf("#%11s %12s %10s %10s %10s %6s\n", "size(B)", "count", "time(us)", "algbw", "busbw",
                "iters");
  }
  for (std::size_t bytes = a.min_bytes; bytes <= a.max_bytes;
       bytes *= static_cast<std::size_t>(a.factor)) {
    const std::size_t count = bytes / es;
    auto call = [&] { comm.allreduce(send.data(), recv.data(), count, a.dtype, ReduceOp::Sum); };
    for (int i = 0; i < a.warmup; ++i) call();
    // Enough calls for ~0.2 s, decided by rank 0's estimate so all ranks agree.
    oob.barrier();
    auto t0 = std::chrono::steady_clock::now();
    call();
    const double one = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const std::string iters_s =
        oob.broadcast(std::to_string(std::max(3, std::min(2000, static_cast<int>(0.2 / one)))), 0);
    const int iters = std::stoi(iters_s);
    oob.barrier();
    t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < iters; ++i) call();
    const double sec =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / iters;
    if (rank == 0) {
      const double algbw = static_cast<double>(bytes) / sec / 1e9;
      std::printf("%12zu %12zu %10.1f %10.2f %10.2f %6d\n", bytes, count, sec * 1e6, algbw,
                  algbw * busfactor, iters);
      std::fflush(stdout);
    }
  }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string f = argv[i];
    if (f == "-n")
      a.nprocs = std::atoi(argv[i + 1]);
    else if (f == "-b")
      a.min_bytes = parse_size("-b", argv[i + 1]);
    else if (f == "-e")
      a.max_bytes = parse_size("-e", argv[i + 1]);
    else if (f == "-f")
      a.factor = std::atoi(argv[i + 1]);
    else if (f == "-w")
      a.warmup = std::atoi(argv[i + 1]);
    else if (f == "-t")
      a.threads = std::atoi(argv[i + 1]);
    else if (f == "-d")
      a.dtype = std::string(argv[i + 1]) == "bfloat16" ? DataType::Bfloat16 : DataType::Float32;
    else {
      std::fprintf(stderr,
                   "usage: %s [-n procs] [-b min] [-e max] [-f factor] [-d float|bfloat16] [-w "
                   "warmup] [-t 0|1|2]\n",
                   argv[0]);
      return 2;
    }
  }
  if (a.nprocs < 1 || a.factor < 2 || a.min_bytes == 0 || a.min_bytes > a.max_bytes) {
    std::fprintf(stderr, "shm_bench: bad arguments\n");
    return 2;
  }
  if (a.threads) {
    test::ThreadOobGroup group(a.nprocs, 120);
    std::vector<Communicator> loop;
    if (a.threads == 2) {
      Options o;
      o.timeout_s = 120;
      loop = loopback_group(a.nprocs, o);
    }
    std::vector<std::thread> ranks;
    for (int r = 0; r < a.nprocs; ++r) {
      ranks.emplace_back([&, r] {
        bench(a, r, group.oob(r), loop.empty() ? nullptr : &loop[static_cast<std::size_t>(r)]);
      });
    }
    for (auto& t : ranks) t.join();
    return 0;
  }
  test::ForkOobMesh mesh(a.nprocs, 120);
  auto out = test::run_children(
      mesh, a.nprocs,
      [&](int rank, bootstrap::OutOfBand& oob) { return bench(a, rank, oob, nullptr); }, nullptr,
      3600);
  int rc = 0;
  for (std::size_t r = 0; r < out.size(); ++r) {
    if (!out[r].report.empty() || !WIFEXITED(out[r].status) || WEXITSTATUS(out[r].status) != 0) {
      std::fprintf(stderr, "rank %zu: %s\n", r, out[r].report.c_str());
      rc = 1;
    }
  }
  return rc;
}
