// The loopback-vs-tcp allreduce bandwidth benchmark, hidden from the test
// run: `tcp_test "[.bench]"`, with TCP_BENCH_BYTES, TCP_BENCH_ITERS,
// TCP_BENCH_SOCKETS, TCP_BENCH_LOOPBACK=0 (tcp only) and COLOSSUS_* as usual.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "catch.hpp"
#include "support/rank_pool.hpp"
#include "support/tcp_support.hpp"

using namespace colossus;
using Clock = std::chrono::steady_clock;

TEST_CASE("tcp vs loopback allreduce bandwidth", "[.bench][tcp]") {
  // TCP_BENCH_BYTES, TCP_BENCH_ITERS, TCP_BENCH_SOCKETS, TCP_BENCH_LOOPBACK=0
  // (tcp only); COLOSSUS_* as usual.
  auto env = [](const char* name, double fallback) {
    const char* v = std::getenv(name);
    return v ? std::atof(v) : fallback;
  };
  const auto bytes = static_cast<std::size_t>(env("TCP_BENCH_BYTES", 64 << 20));
  const int iters = static_cast<int>(env("TCP_BENCH_ITERS", 10));
  const int sockets = static_cast<int>(env("TCP_BENCH_SOCKETS", 2));
  const int n = 2;
  const std::size_t count = bytes / sizeof(float);
  Options opt;
  opt.timeout_s = 120;
  auto measure = [&](std::vector<Communicator>& comms) {
    test::RankPool pool(n);
    std::vector<std::vector<float>> in(n, std::vector<float>(count, 1.0f)), out = in;
    double best = 1e30, total = 0;
    for (int it = -2; it < iters; ++it) {  // two warm-up calls
      std::vector<double> t(n);
      auto errors = pool.run([&](int r) {
        const auto ur = static_cast<std::size_t>(r);
        const auto s = Clock::now();
        comms[ur].allreduce(in[ur].data(), out[ur].data(), count, DataType::Float32, ReduceOp::Sum);
        t[ur] = std::chrono::duration<double>(Clock::now() - s).count();
      });
      REQUIRE(errors.empty());
      REQUIRE(out[0][count / 2] == static_cast<float>(n));
      if (it < 0) continue;
      const double worst = *std::max_element(t.begin(), t.end());
      best = std::min(best, worst);
      total += worst;
    }
    const double mean = total / iters;
    const double algbw = static_cast<double>(bytes) / mean / 1e9;
    return std::make_pair(algbw, algbw * 2.0 * (n - 1) / n);  // nccl-tests busbw
  };
  std::pair<double, double> lb{0, 0};
  if (env("TCP_BENCH_LOOPBACK", 1) != 0) {
    std::vector<Communicator> loop = loopback_group(n, opt);
    lb = measure(loop);
  }
  test::TcpJob job(n, opt, sockets);
  const auto tc = measure(job.comms);
  std::printf(
      "allreduce fp32 %zu B, %d ranks, %d iters: busbw loopback %.2f GB/s, tcp (%d sockets) "
      "%.2f GB/s, ratio %.2f\n",
      bytes, n, iters, lb.second, sockets, tc.second, tc.second / lb.second);
}
