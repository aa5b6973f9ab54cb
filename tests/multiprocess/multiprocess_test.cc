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

using namespace colossus;
using colossus::plan::Collective;

namespace {

// A spread of collectives, dtypes, ops, counts and placements: each process
// checks its own outputs against the float64 reference.
std::vector<test::Case> spread() {
  const std::pair<DataType, ReduceOp> kinds[] = {
      {DataType::Float32, ReduceOp::Sum}, {DataType::Bfloat16, ReduceOp::Avg},
      {DataType::Int32, ReduceOp::Max},   {DataType::Float8e4m3, ReduceOp::Sum},
      {DataType::Int64, ReduceOp::Prod},  {DataType::Float64, ReduceOp::Min},
      {DataType::Uint8, ReduceOp::Sum}};
  std::vector<test::Case> cases;
  int i = 0;
  for (Collective coll : {Collective::AllReduce, Collective::AllGather, Collective::ReduceScatter,
                          Collective::Broadcast, Collective::Reduce}) {
    for (const auto& [t, op] : kinds) {
      for (std::size_t count : {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{1009},
                                std::size_t{65537}}) {
        test::Case c;
        c.coll = coll;
        c.dtype = t;
        c.op = op;
        c.count = count;
        c.root = i % 3;
        c.in_place = (i % 2) == 1;
        c.misaligned = (i % 5) == 2;
        cases.push_back(c);
        ++i;
      }
    }
  }
  return cases;
}

int run_spread(int rank, int n, const UniqueId& id, const Options& options) {
  Communicator comm = init(id, rank, n, options);
  int bad = 0;
  for (test::Case c : spread()) {
    c.root %= n;
    const test::Inputs inputs = test::make_inputs(c, n);
    test::run_rank(c, n, rank, comm, inputs, [&](const std::string& what) {
      if (bad++ < 3) std::fprintf(stderr, "rank %d: %s: %s\n", rank, c.describe().c_str(), what.c_str());
    });
  }
  return bad == 0 ? 0 : 1;
}

void check_all_ranks(const std::string& transport, int n) {
  Options o;
  o.transport = transport;
  o.timeout_s = 30;
  o.slot_bytes = 4096;  // many messages per step: exercises the FIFOs
  o.chunk_bytes = 8192;
  const UniqueId id = make_unique_id();
  const auto results = test::run_forked(n, [&](int r) { return run_spread(r, n, id, o); }, 120);
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
