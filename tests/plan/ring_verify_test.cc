// ring_verify_test.cc: the ring algorithm's plans verify for every
// collective over n = 1..64 and awkward counts, and the verifier notices when
// any single step of a correct ring plan is broken.
//
// How the sweep is bounded (seconds in Release): the verifier's cost is the
// number of steps, which for a chunked ring grows like n * chunks (allreduce,
// broadcast, reduce) or n^2 * chunks (allgather, reduce_scatter: every block
// passes every rank), at about a microsecond per step.
//  - Counts {0, 1, 2, 7, 1009} run at every n in 1..64 with 1 channel x
//    512 KiB chunks and 2 x 4 KiB; with 4 x 64 B chunks (tiny: many steps)
//    too, except that the quadratic collectives take those only at n <= 24
//    and the handful of n below.
//  - Count 1000003 runs with 512 KiB chunks at every n; with 4 KiB chunks at
//    n <= 8, and at n = 64 for the linear collectives only (a 4 KiB-chunked
//    allgather at n = 64 is ~4M steps, seconds each); never with 64 B chunks.
//  - Sum everywhere; Avg, and the int8/fp64 dtypes (whose chunk and alignment
//    in elements differ from fp32's), at the handful of n {1,2,3,5,8,31,64},
//    for the huge count only with 512 KiB chunks.
//  - Roots {0, n/2, n-1} for broadcast and reduce; in place and out of place,
//    with two FIFO slots per stream (see the deadlock test below for why).
#include <string>
#include <vector>

#include "algorithms/algorithm.hpp"
#include "catch.hpp"
#include "plan/verifier.hpp"

using namespace colossus::plan;
using colossus::DataType;
using colossus::ReduceOp;
using colossus::algorithms::AlgoParams;
using colossus::algorithms::ring_plan;

namespace {

const AlgoParams kLarge{1, 512u << 10};
const AlgoParams kMedium{2, 4u << 10};
const AlgoParams kTiny{4, 64};
constexpr std::size_t kHuge = 1000003;
const std::vector<std::size_t> kCounts = {0, 1, 2, 7, 1009, kHuge};

bool few(int n) { return n == 1 || n == 2 || n == 3 || n == 5 || n == 8 || n == 31 || n == 64; }

// Whether the sweep runs this (collective, n, count, setting): the bounds above.
bool in_sweep(Collective coll, int n, std::size_t count, const AlgoParams* p) {
  const bool quadratic = coll == Collective::AllGather || coll == Collective::ReduceScatter;
  if (p == &kTiny) return count != kHuge && (!quadratic || n <= 24 || few(n));
  if (p == &kMedium && count == kHuge) return n <= 8 || (n == 64 && !quadratic);
  return true;
}

std::string describe_case(const CollArgs& a, const AlgoParams& p, bool in_place) {
  return std::string(to_string(a.coll)) + " n=" + std::to_string(a.nranks) +
         " count=" + std::to_string(a.count) + " " + std::string(to_string(a.dtype)) + " " +
         std::string(to_string(a.op)) + " root=" + std::to_string(a.root) +
         " channels=" + std::to_string(p.nchannels) + " chunk=" + std::to_string(p.chunk_bytes) +
         (in_place ? " in-place" : " out-of-place");
}

struct Tally {
  std::size_t cases = 0, steps = 0;
  std::vector<std::string> failures;
};

void check_ring(const CollArgs& a, const AlgoParams& p, Tally& t) {
  for (const bool in_place : {false, true}) {
    const VerifyResult res = verify(a, [&](int r) { return ring_plan(a, r, p); },
                                    {.in_place = in_place, .fifo_depth = 2});
    ++t.cases;
    t.steps += res.steps;
    if (!res.ok) t.failures.push_back(describe_case(a, p, in_place) + ": " + res.error);
  }
}

// Every (n, count, setting, root, op, dtype) the bounds above allow.
Tally sweep(Collective coll) {
  Tally t;
  const bool rooted = coll == Collective::Broadcast || coll == Collective::Reduce;
  const bool reducing = coll != Collective::AllGather && coll != Collective::Broadcast;
  for (int n = 1; n <= 64; ++n) {
    std::vector<int> roots = {0};
    if (rooted) {
      for (const int r : {n / 2, n - 1}) {
        if (r != 0 && (roots.size() < 2 || roots.back() != r)) roots.push_back(r);
      }
    }
    for (const std::size_t count : kCounts) {
      for (const AlgoParams* p : {&kLarge, &kMedium, &kTiny}) {
        if (!in_sweep(coll, n, count, p)) continue;
        const bool variants = few(n) && (count != kHuge || p == &kLarge);
        for (const int root : roots) {
          CollArgs a;
          a.coll = coll;
          a.nranks = n;
          a.count = count;
          a.root = root;
          check_ring(a, *p, t);
          if (!variants) continue;
          if (reducing) {
            a.op = ReduceOp::Avg;
            check_ring(a, *p, t);
            a.op = ReduceOp::Sum;
          }
          for (const DataType d : {DataType::Int8, DataType::Float64}) {
            a.dtype = d;
            check_ring(a, *p, t);
          }
        }
      }
    }
  }
  return t;
}

void require_sweep_passes(Collective coll) {
  const Tally t = sweep(coll);
  std::string shown;
  for (std::size_t i = 0; i < t.failures.size() && i < 10; ++i) shown += t.failures[i] + "\n";
  INFO(t.failures.size() << " of " << t.cases << " cases failed; first ones:\n" << shown);
  CHECK(t.failures.empty());
  CHECK(t.cases > 1000);
  CHECK(t.steps > 0);
}

}  // namespace

TEST_CASE("ring allreduce plans verify", "[verifier][ring]") {
  require_sweep_passes(Collective::AllReduce);
}
TEST_CASE("ring allgather plans verify", "[verifier][ring]") {
  require_sweep_passes(Collective::AllGather);
}
TEST_CASE("ring reduce_scatter plans verify", "[verifier][ring]") {
  require_sweep_passes(Collective::ReduceScatter);
}
TEST_CASE("ring broadcast plans verify", "[verifier][ring]") {
  require_sweep_passes(Collective::Broadcast);
}
TEST_CASE("ring reduce plans verify", "[verifier][ring]") {
  require_sweep_passes(Collective::Reduce);
}

// Breaking any one step of a correct plan in any of these ways must be caught:
// the verifier is only worth its sweep if it notices small mistakes.
TEST_CASE("verifier rejects every single-step mutation of ring plans", "[verifier][ring]") {
  enum Mutation { Drop, ShiftSrc, ShiftDst, ToggleFinalize, NextPeer, kNumMutations };
  std::size_t mutants = 0;
  for (const Collective coll :
       {Collective::AllReduce, Collective::AllGather, Collective::ReduceScatter,
        Collective::Broadcast, Collective::Reduce}) {
    CollArgs a;
    a.coll = coll;
    a.nranks = 4;
    a.count = 37;
    a.root = 1;
    const AlgoParams p{2, 64};
    const VerifyOptions opt{.fifo_depth = 2};
    REQUIRE(verify(
                a, [&](int r) { return ring_plan(a, r, p); }, opt)
                .ok);
    for (int victim = 0; victim < a.nranks; ++victim) {
      const Plan original = ring_plan(a, victim, p);
      for (std::size_t c = 0; c < original.channels.size(); ++c) {
        for (std::size_t i = 0; i < original.channels[c].steps.size(); ++i) {
          for (int m = 0; m < kNumMutations; ++m) {
            Plan broken = original;
            auto& steps = broken.channels[c].steps;
            Step& s = steps[i];
            if ((m == ShiftSrc && !reads_src(s.kind)) || (m == ShiftDst && !writes_dst(s.kind))) {
              continue;
            }
            switch (m) {
              case Drop: steps.erase(steps.begin() + static_cast<std::ptrdiff_t>(i)); break;
              case ShiftSrc: ++s.src.offset; break;
              case ShiftDst: ++s.dst.offset; break;
              case ToggleFinalize: s.finalize = !s.finalize; break;
              case NextPeer:
                if (sends(s.kind))
                  s.send_peer = (s.send_peer + 1) % a.nranks;
                else if (receives(s.kind))
                  s.recv_peer = (s.recv_peer + 1) % a.nranks;
                else
                  continue;
                break;
            }
            const VerifyResult res = verify(
                a, [&](int r) { return r == victim ? broken : ring_plan(a, r, p); }, opt);
            ++mutants;
            INFO(to_string(coll) << " rank " << victim << " channel " << c << " step " << i
                                 << " mutation " << m << " ("
                                 << describe(original.channels[c].steps[i]) << ")");
            CHECK_FALSE(res.ok);
          }
        }
      }
    }
  }
  CHECK(mutants > 500);
}

TEST_CASE("ring plans need two FIFO slots per stream", "[verifier][ring]") {
  CollArgs a;
  a.nranks = 3;
  a.count = 1009;
  const AlgoParams p{1, 512u << 10};
  auto run = [&](std::size_t depth) {
    return verify(a, [&](int r) { return ring_plan(a, r, p); }, {.fifo_depth = depth});
  };
  for (const Collective coll :
       {Collective::AllReduce, Collective::AllGather, Collective::ReduceScatter}) {
    a.coll = coll;
    const VerifyResult one = run(1);
    INFO(to_string(coll) << ": " << one.error);
    CHECK_FALSE(one.ok);
    CHECK(one.error.find("deadlock") != std::string::npos);
    CHECK(one.error.find("waits for a free slot") != std::string::npos);
    CHECK(run(2).ok);
  }
  for (const Collective coll : {Collective::Broadcast, Collective::Reduce}) {
    a.coll = coll;
    const VerifyResult one = run(1);
    INFO(to_string(coll) << ": " << one.error);
    CHECK(one.ok);
  }
}

// Rank sets spill from their inline words past 128 ranks; the verifier must
// not care.
TEST_CASE("ring plans verify in worlds beyond 128 ranks", "[verifier][ring]") {
  Tally t;
  for (const Collective coll :
       {Collective::AllReduce, Collective::AllGather, Collective::ReduceScatter,
        Collective::Broadcast, Collective::Reduce}) {
    for (const int n : {129, 200}) {
      CollArgs a;
      a.coll = coll;
      a.nranks = n;
      a.count = 1009;
      a.root = n / 2;
      check_ring(a, kLarge, t);
    }
  }
  INFO((t.failures.empty() ? "" : t.failures.front()));
  CHECK(t.failures.empty());
}

// The executor moves a step in pieces of one transport slot. A ring whose
// steps take k slots needs k + 1 slots per stream: every rank's first step
// (a Send) must finish before its first receive, so k slots fill and nobody
// receives. The verifier models this with slot_elements.
TEST_CASE("ring plans in slot-sized pieces need more slots than pieces per step",
          "[verifier][ring]") {
  CollArgs a;
  a.coll = Collective::AllReduce;
  a.nranks = 3;
  a.count = 1009;                     // ~337 fp32 elements per ring step
  const AlgoParams p{1, 512u << 10};  // one chunk: a step is a third of the data
  auto run = [&](std::size_t slot, std::size_t depth) {
    return verify(a, [&](int r) { return ring_plan(a, r, p); },
                  {.fifo_depth = depth, .slot_elements = slot});
  };
  const VerifyResult whole = run(1024, 2);  // one piece per step: as without pieces
  INFO(whole.error);
  CHECK(whole.ok);
  CHECK(whole.messages == 3 * 4);
  const VerifyResult stuck = run(64, 4);  // 6 pieces per step, 4 slots
  INFO(stuck.error);
  CHECK_FALSE(stuck.ok);
  CHECK(stuck.error.find("deadlock") != std::string::npos);
  CHECK(stuck.error.find("after moving 256 of its 340 elements") != std::string::npos);
  const VerifyResult enough = run(64, 7);
  INFO(enough.error);
  CHECK(enough.ok);
  CHECK(enough.steps == whole.steps);
}
