// Every collective through the tcp transport, ranks as threads on the
// loopback interface, checked element by element against a float64
// reference; a rank that goes away mid-job; and the loopback-vs-tcp
// bandwidth benchmark (hidden: `tcp_test "[.bench]"`).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "catch.hpp"
#include "support/rank_pool.hpp"
#include "transports/tcp_support.hpp"

using namespace colossus;
using Clock = std::chrono::steady_clock;

namespace {

struct Shape {
  const char* name;
  Options options;
  int sockets;
};

std::vector<Shape> shapes() {
  Options tiny;  // 64 B slots: every step in many frames, the FIFO at its limit
  tiny.nchannels = 2;
  tiny.chunk_bytes = 128;
  tiny.slot_bytes = 64;
  tiny.timeout_s = 60;
  Options small;
  small.nchannels = 3;
  small.chunk_bytes = 1024;
  small.slot_bytes = 512;
  small.timeout_s = 60;
  Options wide;  // the defaults: 512 KiB slots, so big steps are striped
  wide.timeout_s = 60;
  return {{"tiny slots, 1 socket", tiny, 1},
          {"small slots, 2 sockets", small, 2},
          {"512K slots, 3 sockets", wide, 3}};
}

// Runs the sweep on n ranks; `full` covers every dtype x op, otherwise a
// representative subset (the arithmetic is the reduce kernels', tested
// exhaustively elsewhere: here it is the bytes' path that matters).
void sweep(int n, bool full) {
  const std::vector<DataType> all_types = {DataType::Float32, DataType::Bfloat16,
                                           DataType::Int8,    DataType::Float64,
                                           DataType::Uint64,  DataType::Float16};
  const std::vector<DataType> some_types = {DataType::Float32, DataType::Int8};
  std::vector<std::string> problems;
  std::size_t cases = 0;
  for (const Shape& shape : shapes()) {
    test::TcpJob job(n, shape.options, shape.sockets);
    test::Group group(std::move(job.comms));  // owns the transports from here on
    for (int c = 0; c < 5; ++c) {
      const auto coll = static_cast<plan::Collective>(c);
      for (DataType t : full ? all_types : some_types) {
        const int ops = test::reduces(coll) ? (full ? kNumReduceOps : 2) : 1;
        for (int op = 0; op < ops; ++op) {
          for (std::size_t count : {std::size_t{1}, std::size_t{7}, std::size_t{1009}}) {
            for (bool in_place : {false, true}) {
              test::Case k;
              k.coll = coll;
              k.dtype = t;
              k.op = static_cast<ReduceOp>(full ? op : op * 2);  // sum, max
              k.count = count;
              k.root = static_cast<int>(count % static_cast<std::size_t>(n));
              k.in_place = in_place;
              k.misaligned = count == 7 && !in_place;
              for (auto& p : group.run(k)) problems.push_back(std::string(shape.name) + ": " + p);
              ++cases;
            }
          }
        }
      }
      test::Case big;  // several chunks, loops of the ring, striped frames
      big.coll = coll;
      big.count = shape.options.slot_bytes == 0 ? 600011 : 20011;
      big.root = n - 1;
      big.in_place = c % 2 == 0;
      for (auto& p : group.run(big)) problems.push_back(std::string(shape.name) + ": " + p);
      ++cases;
    }
    if (shape.options.slot_bytes == 0) {
      INFO(shape.name << ", n=" << n);
      CHECK(job.sum(&transport::TcpStats::messages_striped) > 0);
    }
  }
  INFO(cases << " cases on " << n << " ranks, first problems:\n"
             << (problems.empty() ? std::string("none")
                                  : problems[0] + (problems.size() > 1 ? "\n" + problems[1] : "")));
  CHECK(cases > 0);
  CHECK(problems.empty());
}

}  // namespace

TEST_CASE("tcp collectives on 2 ranks: every dtype and op", "[tcp][collectives]") {
  sweep(2, true);
}
TEST_CASE("tcp collectives on 3 ranks: every dtype and op", "[tcp][collectives]") {
  sweep(3, true);
}
TEST_CASE("tcp collectives on 4 ranks: every dtype and op", "[tcp][collectives]") {
  sweep(4, true);
}
TEST_CASE("tcp collectives on 8 ranks", "[tcp][collectives]") { sweep(8, false); }

TEST_CASE("tcp: a rank destroyed while its peers wait on it fails them within the timeout",
          "[tcp]") {
  Options opt;
  opt.timeout_s = 3;
  opt.slot_bytes = 64 << 10;
  const int n = 4;
  test::TcpJob job(n, opt);
  test::RankPool pool(n);
  const std::size_t count = 1 << 20;
  std::vector<std::vector<float>> bufs(n, std::vector<float>(count, 1.0f));
  // One good allreduce: every stream of the ring is connected.
  auto errors = pool.run([&](int r) {
    auto& b = bufs[static_cast<std::size_t>(r)];
    job.comms[static_cast<std::size_t>(r)].allreduce(b.data(), b.data(), count, DataType::Float32,
                                                     ReduceOp::Sum);
  });
  REQUIRE(errors.empty());
  CHECK(bufs[0][123] == 4.0f);

  // Rank 3 leaves (destroys its communicator) while the others start the next one.
  std::vector<ErrorCode> codes(n, ErrorCode::Success);
  std::vector<double> seconds(n, 0);
  const auto start = Clock::now();
  errors = pool.run([&](int r) {
    const auto ur = static_cast<std::size_t>(r);
    if (r == 3) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      job.comms[ur].destroy();
      return;
    }
    try {
      job.comms[ur].allreduce(bufs[ur].data(), bufs[ur].data(), count, DataType::Float32,
                              ReduceOp::Sum);
    } catch (const Error& e) {
      codes[ur] = e.code();
    }
    seconds[ur] = std::chrono::duration<double>(Clock::now() - start).count();
  });
  CHECK(errors.empty());
  for (int r = 0; r < 3; ++r) {
    INFO("rank " << r << ": " << to_string(codes[static_cast<std::size_t>(r)]) << " after "
                 << seconds[static_cast<std::size_t>(r)] << " s");
    CHECK((codes[static_cast<std::size_t>(r)] == ErrorCode::RemoteError ||
           codes[static_cast<std::size_t>(r)] == ErrorCode::Timeout));
    CHECK(seconds[static_cast<std::size_t>(r)] < 10);
  }
  // Rank 2 sends to rank 3 and rank 0 receives from it: the dead sockets
  // themselves must be noticed, not just the timeout.
  CHECK(codes[0] == ErrorCode::RemoteError);
}

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
