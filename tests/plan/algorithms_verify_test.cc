// algorithms_verify_test.cc: the tree, hierarchical and recursive doubling
// plans verify for every collective each implements, and their shapes are
// what they claim: hierarchical traffic between nodes stays on its rail, the
// two trees of the double tree complement each other, and tree and
// recursive doubling take O(log n) rounds where the ring takes O(n).
//
// How the sweep is bounded (seconds in Release; the verifier costs about a
// microsecond per step):
//  - n = 1..64; counts {0, 1, 2, 7, 1009} with 1 channel x 512 KiB chunks,
//    2 x 4 KiB and 3 x 64 B (tiny: many steps); count 100003 with 512 KiB at
//    every n, and with 4 KiB at the handful of n below only. Allgather and
//    reduce_scatter cost n^2 steps per chunk (every block passes every
//    rank): they take 64 B chunks only at n <= 12 (one node) and the handful
//    of n, and
//    100003 with 4 KiB chunks only at n <= 8.
//  - Every case runs as the executor runs it: FIFO depth 2 with one slot per
//    chunk (the communicator's clamp, chunk <= slot * (depth - 1)); the
//    handful of n also with depth 4 and a chunk of three slots (allgather and
//    reduce_scatter: with 512 KiB chunks, or at n <= 8).
//  - Sum everywhere; Avg and the int8/fp64 dtypes (other chunk and
//    alignment in elements) at the handful of n {1, 2, 3, 5, 8, 31, 64}
//    (allgather and reduce_scatter: with 64 B chunks only at n <= 8).
//  - Roots {0, n/2, n-1} for broadcast and reduce at the handful of n,
//    2n/3 at the others; in and out of place.
//  - Hierarchical: at every n one node (null layout) and nodes of 4 ranks in
//    rank order (the last one short when 4 does not divide n; counts 1,
//    1009 and 100003 only, at n outside the handful); at the
//    handful of n also ranks dealt round-robin over 3 nodes (interleaved,
//    uneven unless 3 divides n); and the named shapes 2x4, 4x2, 3x5, 8x8,
//    uneven 3+5+1 and 1+4+2+2 (rank order) and two interleaved layouts.
#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "algorithms/algorithm.hpp"
#include "algorithms/layout.hpp"
#include "catch.hpp"
#include "colossus/error.hpp"
#include "plan/verifier.hpp"

using namespace colossus::plan;
using colossus::DataType;
using colossus::dtype_size;
using colossus::ReduceOp;
using colossus::algorithms::Algo;
using colossus::algorithms::AlgoParams;
using colossus::algorithms::Layout;
using colossus::algorithms::make_plan;
using colossus::algorithms::supports;

namespace {

const AlgoParams kLarge{1, 512u << 10};
const AlgoParams kMedium{2, 4u << 10};
const AlgoParams kTiny{3, 64};
constexpr std::size_t kHuge = 100003;
const std::vector<std::size_t> kCounts = {0, 1, 2, 7, 1009, kHuge};
const Collective kAll[] = {Collective::AllReduce, Collective::AllGather, Collective::ReduceScatter,
                           Collective::Broadcast, Collective::Reduce};

bool few(int n) { return n == 1 || n == 2 || n == 3 || n == 5 || n == 8 || n == 31 || n == 64; }

std::string describe_case(Algo algo, const CollArgs& a, const AlgoParams& p,
                          const VerifyOptions& o) {
  return std::string(to_string(algo)) + " " + std::string(to_string(a.coll)) +
         " n=" + std::to_string(a.nranks) +
         (p.layout ? " layout " + p.layout->describe() : std::string()) +
         " count=" + std::to_string(a.count) + " " + std::string(to_string(a.dtype)) + " " +
         std::string(to_string(a.op)) + " root=" + std::to_string(a.root) +
         " channels=" + std::to_string(p.nchannels) + " chunk=" + std::to_string(p.chunk_bytes) +
         " depth=" + std::to_string(o.fifo_depth) + " slot=" + std::to_string(o.slot_elements) +
         (o.in_place ? " in-place" : " out-of-place");
}

struct Tally {
  std::size_t cases = 0, steps = 0;
  std::vector<std::string> failures;
};

// In and out of place, with one slot per chunk and FIFO depth 2; with
// `three_slots` also with chunks of three slots and depth 4.
void check(Algo algo, const CollArgs& a, const AlgoParams& p, bool three_slots, Tally& t) {
  const std::size_t chunk = std::max<std::size_t>(1, p.chunk_bytes / dtype_size(a.dtype));
  std::vector<VerifyOptions> options;
  for (const bool in_place : {false, true}) {
    options.push_back({.in_place = in_place, .fifo_depth = 2, .slot_elements = chunk});
    if (three_slots)
      options.push_back({.in_place = in_place, .fifo_depth = 4, .slot_elements = (chunk + 2) / 3});
  }
  for (const VerifyOptions& o : options) {
    const VerifyResult res = verify(
        a, [&](int r) { return make_plan(algo, a, r, p); }, o);
    ++t.cases;
    t.steps += res.steps;
    if (!res.ok) t.failures.push_back(describe_case(algo, a, p, o) + ": " + res.error);
  }
}

// Every (count, setting, root, op, dtype) the bounds above allow, at n ranks.
void sweep_n(Algo algo, Collective coll, int n, const Layout* layout, bool variants_here,
             Tally& t) {
  const bool rooted = coll == Collective::Broadcast || coll == Collective::Reduce;
  const bool reducing = coll != Collective::AllGather && coll != Collective::Broadcast;
  const bool quadratic = coll == Collective::AllGather || coll == Collective::ReduceScatter;
  std::vector<int> roots = {variants_here ? 0 : 2 * n / 3};
  if (rooted && variants_here) {
    for (const int r : {n / 2, n - 1}) {
      if (std::find(roots.begin(), roots.end(), r) == roots.end()) roots.push_back(r);
    }
  }
  for (const std::size_t count : kCounts) {
    for (const AlgoParams* base : {&kLarge, &kMedium, &kTiny}) {
      if (count == kHuge && base == &kTiny) continue;
      if (count == kHuge && base == &kMedium && !(variants_here && (!quadratic || n <= 8)))
        continue;
      if (base == &kTiny && quadratic && !variants_here && (n > 12 || layout)) continue;
      // The 4-rank-node layout outside the handful of n: the counts that cut blocks unevenly.
      if (layout && !variants_here && (count == 0 || count == 2 || count == 7)) continue;
      AlgoParams p = *base;
      p.layout = layout;
      const bool variants = variants_here && (count != kHuge || base == &kLarge) &&
                            (!quadratic || n <= 8 || base != &kTiny);
      for (const int root : roots) {
        CollArgs a;
        a.coll = coll;
        a.nranks = n;
        a.count = count;
        a.root = root;
        check(algo, a, p, variants && (!quadratic || n <= 8 || base == &kLarge), t);
        if (!variants) continue;
        if (reducing) {
          a.op = ReduceOp::Avg;
          check(algo, a, p, false, t);
          a.op = ReduceOp::Sum;
        }
        for (const DataType d : {DataType::Int8, DataType::Float64}) {
          a.dtype = d;
          check(algo, a, p, false, t);
        }
      }
    }
  }
}

void require(const Tally& t, std::size_t min_cases) {
  std::string shown;
  for (std::size_t i = 0; i < t.failures.size() && i < 10; ++i) shown += t.failures[i] + "\n";
  INFO(t.failures.size() << " of " << t.cases << " cases failed; first ones:\n" << shown);
  CHECK(t.failures.empty());
  CHECK(t.cases >= min_cases);
  CHECK(t.steps > 0);
}

Layout by_blocks_of(int n, int per_node) {
  std::vector<int> node_of;
  for (int r = 0; r < n; ++r) node_of.push_back(r / per_node);
  return Layout::from_nodes(node_of);
}
Layout round_robin(int n, int nodes) {
  std::vector<int> node_of;
  for (int r = 0; r < n; ++r) node_of.push_back(r % nodes);
  return Layout::from_nodes(node_of);
}
Layout of_sizes(const std::vector<int>& sizes) {
  std::vector<int> node_of;
  for (std::size_t h = 0; h < sizes.size(); ++h)
    node_of.insert(node_of.end(), static_cast<std::size_t>(sizes[h]), static_cast<int>(h));
  return Layout::from_nodes(node_of);
}

// The named shapes: uniform blocks, uneven, and interleaved (non-consecutive).
std::vector<Layout> named_layouts() {
  return {Layout::blocks(1, 8),
          Layout::blocks(2, 4),
          Layout::blocks(4, 2),
          Layout::blocks(3, 5),
          Layout::blocks(8, 8),
          of_sizes({3, 5, 1}),
          of_sizes({1, 4, 2, 2}),
          round_robin(8, 2),  // 0 1 0 1 ...: uniform, not consecutive
          Layout::from_nodes({2, 0, 0, 1, 2, 0, 2, 2, 1, 0, 2})};  // uneven, interleaved
}

Tally sweep(Algo algo, Collective coll) {
  Tally t;
  for (int n = 1; n <= 64; ++n) {
    sweep_n(algo, coll, n, nullptr, few(n), t);
    if (algo != Algo::Hierarchical || n < 2) continue;
    const Layout fours = by_blocks_of(n, 4);
    sweep_n(algo, coll, n, &fours, false, t);
    if (few(n)) {
      const Layout dealt = round_robin(n, 3);
      sweep_n(algo, coll, n, &dealt, true, t);
    }
  }
  if (algo == Algo::Hierarchical) {
    for (const Layout& l : named_layouts()) sweep_n(algo, coll, l.nranks(), &l, true, t);
  }
  return t;
}

}  // namespace

TEST_CASE("tree plans verify", "[verifier][tree]") {
  for (const Collective coll : kAll) {
    if (!supports(Algo::Tree, coll)) continue;
    INFO(to_string(coll));
    require(sweep(Algo::Tree, coll), 1000);
  }
}

TEST_CASE("recursive doubling plans verify", "[verifier][recursive_doubling]") {
  require(sweep(Algo::RecursiveDoubling, Collective::AllReduce), 1000);
}

TEST_CASE("hierarchical allreduce plans verify", "[verifier][hierarchical]") {
  require(sweep(Algo::Hierarchical, Collective::AllReduce), 1000);
}
TEST_CASE("hierarchical allgather plans verify", "[verifier][hierarchical]") {
  require(sweep(Algo::Hierarchical, Collective::AllGather), 1000);
}
TEST_CASE("hierarchical reduce_scatter plans verify", "[verifier][hierarchical]") {
  require(sweep(Algo::Hierarchical, Collective::ReduceScatter), 1000);
}
TEST_CASE("hierarchical broadcast and reduce plans verify", "[verifier][hierarchical]") {
  require(sweep(Algo::Hierarchical, Collective::Broadcast), 1000);
  require(sweep(Algo::Hierarchical, Collective::Reduce), 1000);
}

TEST_CASE("algorithms reject collectives they do not implement", "[verifier][algorithms]") {
  CollArgs a;
  a.nranks = 4;
  a.count = 8;
  for (const Algo algo : {Algo::Tree, Algo::RecursiveDoubling}) {
    for (const Collective coll : kAll) {
      a.coll = coll;
      if (supports(algo, coll)) continue;
      CHECK_THROWS_AS(make_plan(algo, a, 0, kLarge), colossus::Error);
    }
  }
  const Layout two = Layout::blocks(2, 4);
  a.nranks = 6;
  CHECK_THROWS_AS(make_plan(Algo::Hierarchical, a, 0, {1, 4096, &two}), colossus::Error);
}

// On a uniform layout every message between nodes joins two ranks with the
// same local index (the same rail), for every collective and root.
TEST_CASE("hierarchical traffic between nodes stays on its rail", "[verifier][hierarchical]") {
  std::size_t inter = 0;
  for (const Layout& l : {Layout::blocks(2, 4), Layout::blocks(4, 2), Layout::blocks(3, 5),
                          Layout::blocks(8, 8), round_robin(12, 3)}) {
    for (const Collective coll : kAll) {
      const int n = l.nranks();
      for (const int root : {0, n / 2 + 1, n - 1}) {
        CollArgs a;
        a.coll = coll;
        a.nranks = n;
        a.count = 1009;
        a.root = root;
        for (const AlgoParams* base : {&kLarge, &kTiny}) {
          AlgoParams p = *base;
          p.layout = &l;
          for (int r = 0; r < n; ++r) {
            const Plan plan = make_plan(Algo::Hierarchical, a, r, p);
            for (const ChannelPlan& ch : plan.channels) {
              for (const Step& s : ch.steps) {
                for (const int peer :
                     {sends(s.kind) ? s.send_peer : -1, receives(s.kind) ? s.recv_peer : -1}) {
                  if (peer < 0 || l.node_of(peer) == l.node_of(r)) continue;
                  ++inter;
                  INFO(to_string(coll)
                       << " " << l.describe() << " rank " << r << ": " << describe(s));
                  REQUIRE(l.local_index(peer) == l.local_index(r));
                }
              }
            }
          }
        }
      }
    }
  }
  CHECK(inter > 1000);
}

namespace {

// The number of rounds a collective takes when every step takes one round
// and a message sent in round k can be received in round k+1: the length of
// the longest chain of dependent steps (FIFOs unbounded).
std::size_t rounds(Algo algo, const CollArgs& a, const AlgoParams& p) {
  const int n = a.nranks;
  std::vector<Plan> plans;
  for (int r = 0; r < n; ++r) plans.push_back(make_plan(algo, a, r, p));
  // Per stream (from, to, channel): the rounds in which its messages were sent.
  std::map<std::tuple<int, int, std::size_t>, std::vector<std::size_t>> sent;
  std::map<std::tuple<int, int, std::size_t>, std::size_t> taken;
  std::vector<std::vector<std::size_t>> next(static_cast<std::size_t>(n)),
      done(static_cast<std::size_t>(n));
  for (int r = 0; r < n; ++r) {
    next[static_cast<std::size_t>(r)].assign(plans[static_cast<std::size_t>(r)].channels.size(), 0);
    done[static_cast<std::size_t>(r)].assign(plans[static_cast<std::size_t>(r)].channels.size(), 0);
  }
  std::size_t longest = 0;
  for (bool moved = true; moved;) {
    moved = false;
    for (int r = 0; r < n; ++r) {
      const Plan& plan = plans[static_cast<std::size_t>(r)];
      for (std::size_t c = 0; c < plan.channels.size(); ++c) {
        auto& i = next[static_cast<std::size_t>(r)][c];
        auto& t = done[static_cast<std::size_t>(r)][c];
        while (i < plan.channels[c].steps.size()) {
          const Step& s = plan.channels[c].steps[i];
          std::size_t ready = t;
          if (receives(s.kind)) {
            const auto key = std::make_tuple(s.recv_peer, r, c);
            const auto& q = sent[key];
            if (taken[key] >= q.size()) break;
            ready = std::max(ready, q[taken[key]++]);
          }
          t = ready + 1;
          if (sends(s.kind)) sent[std::make_tuple(r, s.send_peer, c)].push_back(t);
          ++i;
          moved = true;
          longest = std::max(longest, t);
        }
      }
    }
  }
  return longest;
}

}  // namespace

TEST_CASE("tree and recursive doubling take O(log n) rounds",
          "[verifier][tree][recursive_doubling]") {
  CollArgs a;
  a.count = 1;
  for (int n = 2; n <= 64; ++n) {
    a.nranks = n;
    const auto log2n = static_cast<std::size_t>(std::ceil(std::log2(n)));
    a.coll = Collective::AllReduce;
    const std::size_t tree = rounds(Algo::Tree, a, kLarge);
    const std::size_t rd = rounds(Algo::RecursiveDoubling, a, kLarge);
    const std::size_t ring = rounds(Algo::Ring, a, kLarge);
    INFO("n=" << n << " tree " << tree << " rd " << rd << " ring " << ring);
    CHECK(tree <= 4 * log2n + 2);  // up and down, two steps per level at most
    CHECK(rd <= 2 * log2n + 2);
    CHECK(ring >= 2 * static_cast<std::size_t>(n - 1));
    for (const Collective coll : {Collective::Broadcast, Collective::Reduce}) {
      a.coll = coll;
      a.root = n / 2;
      CHECK(rounds(Algo::Tree, a, kLarge) <= 2 * log2n + 2);
    }
    a.root = 0;
  }
  // Recursive doubling at n = 64: six exchanges per rank (a send and a
  // receive each), nothing else; at n = 48 the 16 ranks outside the 32-rank
  // core add a hand-off before and a hand-back after.
  a.coll = Collective::AllReduce;
  a.nranks = 64;
  for (int r = 0; r < 64; ++r) {
    const Plan p = make_plan(Algo::RecursiveDoubling, a, r, kLarge);
    std::size_t sends_n = 0, recvs_n = 0;
    for (const Step& s : p.channels[0].steps) {
      sends_n += sends(s.kind);
      recvs_n += receives(s.kind);
    }
    CHECK(sends_n == 6);
    CHECK(recvs_n == 6);
    CHECK(p.num_steps() == 12);
  }
  CHECK(rounds(Algo::RecursiveDoubling, a, kLarge) == 12);
  a.nranks = 48;
  CHECK(rounds(Algo::RecursiveDoubling, a, kLarge) == 2 * 5 + 2 + 2);
}

// Each channel of the double tree's allreduce carries one tree; a rank that
// forwards (receives from children) in one tree is a leaf of the other,
// except that for odd n one rank is interior in both (as in NCCL).
TEST_CASE("the two trees of the double binary tree complement each other", "[verifier][tree]") {
  for (int n = 2; n <= 64; ++n) {
    CollArgs a;
    a.nranks = n;
    a.count = 64;
    int both = 0;
    for (int r = 0; r < n; ++r) {
      const Plan p = make_plan(Algo::Tree, a, r, kLarge);
      REQUIRE(p.channels.size() == 2);
      int interior = 0;
      for (const ChannelPlan& ch : p.channels) {
        std::vector<int> children;
        for (const Step& s : ch.steps) {
          if (receives(s.kind) && reduces(s.kind)) children.push_back(s.recv_peer);
        }
        std::sort(children.begin(), children.end());
        children.erase(std::unique(children.begin(), children.end()), children.end());
        CHECK(children.size() <= 2);
        interior += !children.empty();
      }
      both += interior == 2;
    }
    INFO("n=" << n);
    CHECK(both <= n % 2);
  }
}
