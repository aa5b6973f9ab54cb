// Ranks as separate processes: init() from a unique id, every collective
// over shm and over tcp with real data checked on every rank, and a rank
// killed with SIGKILL mid-allreduce turning into an error on every survivor.
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "collectives/harness.hpp"
#include "colossus/colossus.hpp"
#include "multiprocess/fork_group.hpp"
#include "multiprocess/spread.hpp"

using namespace colossus;
using colossus::plan::Collective;

namespace {

void check_all_ranks(const std::string& transport, int n) {
  Options o;
  o.transport = transport;
  o.timeout_s = 30;
  o.slot_bytes = 4096;  // many messages per step: exercises the FIFOs
  o.chunk_bytes = 8192;
  const UniqueId id = make_unique_id();
  const auto results = test::run_forked(n, [&](int r) { return test::run_spread(init(id, r, n, o)); }, 120);
  for (const auto& res : results) {
    INFO(transport << " n=" << n << ": " << res.describe());
    CHECK(res.exited_with(0));
  }
}

}  // namespace

TEST_CASE("collectives across processes over shm", "[multiprocess]") {
  for (int n : {2, 3, 4, 8}) check_all_ranks("shm", n);
}

TEST_CASE("collectives across processes over tcp", "[multiprocess]") {
  for (int n : {2, 3, 4, 8}) check_all_ranks("tcp", n);
}

TEST_CASE("a rank killed mid-allreduce becomes an error on every survivor", "[multiprocess]") {
  const int n = 4, victim = 2;
  constexpr int kSawError = 42;
  Options o;
  o.timeout_s = 3;
  const UniqueId id = make_unique_id();
  const auto results = test::run_forked(
      n,
      [&](int r) {
        Communicator comm = init(id, r, n, o);
        std::vector<float> x(4 << 20, 1.0f);
        if (r == victim) {  // die in the middle of a large allreduce
          std::thread([] {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            raise(SIGKILL);
          }).detach();
        }
        try {
          for (int i = 0; i < 1000; ++i) {
            comm.allreduce(x.data(), x.data(), x.size(), DataType::Float32, ReduceOp::Max);
          }
        } catch (const Error& e) {
          std::fprintf(stderr, "rank %d: [%s] %s\n", r, to_string(e.code()), e.what());
          return kSawError;
        }
        return 0;
      },
      60);
  for (const auto& res : results) {
    INFO(res.describe() << " after " << res.seconds << " s");
    if (res.rank == victim) {
      CHECK(res.killed_by(SIGKILL));
    } else {
      CHECK(res.exited_with(kSawError));
      CHECK(res.seconds < 20);  // 3 s timeout, plus setup: never a hang
    }
  }
}
