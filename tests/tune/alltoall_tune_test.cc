// alltoall_tune_test.cc: the tuner on all-to-all, gather, scatter and the
// calls it does not tune: traffic read off the Plans (both directions of
// each NIC), picks that follow from the cost model at small and large
// sizes, counted above kMaxTrafficRanks where the Plans fold, the fixed
// rule where nothing can be counted, and every pick explained.
#include <string>

#include "catch.hpp"
#include "colossus/error.hpp"
#include "tune/tuner.hpp"

using namespace colossus;
using algorithms::Algo;
using algorithms::Layout;
using plan::CollArgs;
using plan::Collective;
using tune::AlgoFilter;
using tune::CostModel;
using tune::Tuner;

namespace {

CollArgs call(Collective coll, std::size_t count, int n, int root = 0) {
  CollArgs a;
  a.coll = coll;
  a.count = count;
  a.dtype = DataType::Float32;
  a.nranks = n;
  a.root = root;
  return a;
}

// A GPU cluster: NVLink on the node, one 50 GB/s NIC per GPU, 3 us hops.
CostModel cluster(int nics_per_node) {
  CostModel m;
  m.intra = {450, 0.6};
  m.inter = {50, 3};
  m.local_gbytes_per_s = 3350;
  m.step_us = 0.25;
  m.nics_per_node = nics_per_node;
  m.source = "test";
  return m;
}

bool has(const tune::Choice& c, Algo a) {
  for (const auto& x : c.candidates)
    if (x.algo == a) return true;
  return false;
}

}  // namespace

TEST_CASE("traffic: pairwise sends (n-P)/n of a rank's buffer over its NIC, latencies overlapped") {
  for (const int nics : {8, 1}) {
    const Layout l = Layout::blocks(4, 8);
    const auto t = tune::plan_traffic(cluster(nics), l, call(Collective::AllToAll, 1024, 32),
                                      Algo::Pairwise, 1);
    // Per rank: 24 of 32 blocks off-node, 7 on-node; a NIC serves 8 / nics ranks.
    CHECK(t.nic_bytes == Approx(24.0 / 32 * 8 / nics));
    CHECK(t.intra_bytes == Approx(7.0 / 32));
    // Blocks that fit a chunk: every send is posted before any receive, so
    // the 31 messages' latencies overlap the sends' own steps.
    CHECK(t.hops <= 1);
    CHECK(t.crosses_nodes);
  }
}

TEST_CASE("traffic: Bruck takes ceil(log2 n) hops and moves about log2(n)/2 buffers") {
  const Layout l = Layout::blocks(4, 8);
  const auto pw =
      tune::plan_traffic(cluster(8), l, call(Collective::AllToAll, 1024, 32), Algo::Pairwise, 1);
  const auto br =
      tune::plan_traffic(cluster(8), l, call(Collective::AllToAll, 1024, 32), Algo::Bruck, 1);
  CHECK(br.hops == 5);
  CHECK(br.nic_bytes > pw.nic_bytes);
  CHECK(br.work_bytes > pw.work_bytes);  // packing and unpacking copies
}

TEST_CASE("traffic: a gather's root NIC receives what every other node sends") {
  // The root's NIC in (not the senders' NICs out) is the busiest: 24 of 32
  // blocks arrive over it; counted one way only it would look idle.
  const Layout l = Layout::blocks(4, 8);
  for (const Collective c : {Collective::Gather, Collective::Scatter}) {
    const auto t = tune::plan_traffic(cluster(8), l, call(c, 4096, 32, 5), Algo::Direct, 1);
    CHECK(t.nic_bytes == Approx(24.0 / 32));
    CHECK(t.intra_bytes == Approx(7.0 / 32));
  }
}

TEST_CASE("alltoall at 64 ranks: pairwise for tiny and large blocks, Bruck counted and slower") {
  // Pairwise posts its 63 tiny sends at once; Bruck pays 6 rounds of
  // latency and a step per packed block: counted, it comes out slower.
  Tuner tuner(cluster(8), Layout::blocks(8, 8), AlgoFilter(), {});
  const CollArgs tiny = call(Collective::AllToAll, 2, 64);
  const auto small = tuner.choose(tiny);
  INFO(tune::explain(tiny, small));
  CHECK(small.best.algo == Algo::Pairwise);
  CHECK(small.best.bottleneck == "latency");
  CHECK(small.rule.empty());
  CHECK(has(small, Algo::Bruck));
  const CollArgs big = call(Collective::AllToAll, 1 << 18, 64);  // 1 MiB blocks
  const auto large = tuner.choose(big);
  INFO(tune::explain(big, large));
  CHECK(large.best.algo == Algo::Pairwise);
  CHECK(large.best.bottleneck == "NIC");
  const std::string s = tune::summary(big, large);
  CHECK(s.find("alltoall 67108864 B float on 64 ranks: pairwise") != std::string::npos);
  CHECK(s.find("runner-up ") != std::string::npos);
}

TEST_CASE("folded and rank-by-rank counts agree where the Plans fold") {
  // Pairwise on 32 nodes x 8 is counted on node 0's ranks; on the same
  // nodes with ranks interleaved (rank r on node r % 32) every rank is
  // counted. Either way a rank has 7 peers on its node and 248 off it.
  std::vector<int> interleaved;
  for (int r = 0; r < 256; ++r) interleaved.push_back(r % 32);
  const CollArgs a = call(Collective::AllToAll, 4096, 256);
  for (const int nch : {1, 2}) {
    const auto folded =
        tune::plan_traffic(cluster(8), Layout::blocks(32, 8), a, Algo::Pairwise, nch);
    const auto flat =
        tune::plan_traffic(cluster(8), Layout::from_nodes(interleaved), a, Algo::Pairwise, nch);
    CHECK(folded.nic_bytes == Approx(248.0 / 256));
    CHECK(flat.nic_bytes == Approx(folded.nic_bytes));
    CHECK(flat.intra_bytes == Approx(folded.intra_bytes));
    CHECK(flat.work_bytes == Approx(folded.work_bytes));
    CHECK(flat.hops == folded.hops);
    CHECK(flat.steps == folded.steps);
  }
}

TEST_CASE("alltoall above the counted range: folded candidates, counted and explained") {
  const int n = 1024;  // 128 nodes x 8
  Tuner tuner(cluster(8), Layout::blocks(128, 8), AlgoFilter(), {});
  const CollArgs a = call(Collective::AllToAll, 256, n);
  const auto c = tuner.choose(a);
  INFO(tune::explain(a, c));
  CHECK(c.rule.empty());
  CHECK(c.best.predicted_us > 0);
  CHECK(has(c, Algo::Pairwise));
  CHECK(has(c, Algo::Bruck));
}

TEST_CASE("candidates too large to count are left out, and the explanation says so") {
  // Bruck on 256 ranks copies every block per round and channel: with 8
  // channels its Plans hold ~5M steps, over kMaxTrafficSteps, when they
  // cannot be counted on one node's ranks (nodes of 8 and 4 ranks).
  std::vector<int> nodes;
  for (int r = 0; r < 256; ++r) nodes.push_back(r < 8 ? 0 : 1 + (r - 8) / 4);
  tune::TunerLimits limits;
  limits.nchannels = {1, 8};
  limits.chunk_bytes = {512u << 10};
  Tuner tuner(cluster(8), Layout::from_nodes(nodes), AlgoFilter::parse("alltoall:bruck"), limits);
  const CollArgs a = call(Collective::AllToAll, 64, 256);
  const auto c = tuner.choose(a);
  INFO(tune::explain(a, c));
  bool noted = false;
  for (const std::string& why : c.not_counted) noted |= why.rfind("bruck, 8 ch", 0) == 0;
  CHECK(noted);
  CHECK(tune::explain(a, c).find("# not counted: bruck, 8 ch: tuner: bruck with 8 channel(s)") !=
        std::string::npos);
  for (const auto& x : c.candidates) CHECK(x.nchannels == 1);
  CHECK(c.best.algo == Algo::Bruck);  // with one channel
}

TEST_CASE("fixed rule for alltoall where nothing is counted: the cheaper of Bruck and pairwise") {
  // An uneven layout does not fold: above 256 ranks nothing is counted.
  std::vector<int> nodes;
  for (int r = 0; r < 300; ++r) nodes.push_back(r < 8 ? 0 : 1 + (r - 8) / 4);
  const Layout uneven = Layout::from_nodes(nodes);
  Tuner tuner(cluster(8), uneven, AlgoFilter(), {});
  const CollArgs tiny = call(Collective::AllToAll, 1, 300);
  const auto small = tuner.choose(tiny);
  // Even one-element blocks: Bruck's 9 rounds and ~2700 packing steps cost
  // more than pairwise's 299 sends posted at once.
  CHECK(small.best.algo == Algo::Pairwise);
  CHECK(small.rule.find("alltoall (block") != std::string::npos);
  CHECK(small.rule.find(">= pairwise") != std::string::npos);
  CHECK(small.best.bottleneck.find("not modeled") != std::string::npos);
  CHECK(tune::summary(tiny, small).find("by rule: alltoall (block") != std::string::npos);
  CHECK(tune::explain(tiny, small).find("# picked by rule: alltoall") != std::string::npos);
  const auto large = tuner.choose(call(Collective::AllToAll, 1 << 20, 300));
  CHECK(large.rule.find("alltoall (block") != std::string::npos);
  CHECK(large.best.algo == Algo::Pairwise);
  // Bruck filtered out: the small rule falls back to what is left.
  Tuner no_bruck(cluster(8), uneven, AlgoFilter::parse("alltoall:^bruck"), {});
  CHECK(no_bruck.choose(tiny).best.algo != Algo::Bruck);
}

TEST_CASE("gather and scatter: counted at small n, by rule above it") {
  Tuner small_n(cluster(8), Layout::blocks(4, 8), AlgoFilter(), {});
  for (const Collective coll : {Collective::Gather, Collective::Scatter}) {
    const auto c = small_n.choose(call(coll, 1 << 16, 32, 3));
    CHECK(c.rule.empty());
    CHECK(c.best.predicted_us > 0);
    CHECK((c.best.algo == Algo::Direct || c.best.algo == Algo::Tree));
  }
  // Rooted calls never fold: above 256 ranks the rule picks. A block that
  // moves in less than a step's cost is small.
  Tuner big_n(cluster(8), Layout::blocks(128, 8), AlgoFilter(), {});
  for (const Collective coll : {Collective::Gather, Collective::Scatter}) {
    const CollArgs large = call(coll, 1 << 20, 1024);
    const auto l = big_n.choose(large);
    CHECK(l.best.algo == Algo::Direct);
    CHECK(l.rule.find("large") != std::string::npos);
    const auto s = big_n.choose(call(coll, 1, 1024));
    CHECK(s.rule.find("small") != std::string::npos);
    CHECK(s.best.algo == (algorithms::supports(Algo::Tree, coll) ? Algo::Tree : Algo::Direct));
  }
}

TEST_CASE("alltoallv, send and recv are not tuned: the communicator's fixed choice, said") {
  Tuner tuner(cluster(8), Layout::blocks(2, 8), AlgoFilter(), {});
  CollArgs v = call(Collective::AllToAllv, 0, 16);
  auto counts = std::make_shared<plan::VectorArgs>();
  for (int q = 0; q < 16; ++q) {
    counts->send_counts.push_back(10);
    counts->recv_counts.push_back(10);
    counts->send_displs.push_back(10 * static_cast<std::size_t>(q));
    counts->recv_displs.push_back(10 * static_cast<std::size_t>(q));
  }
  v.v = counts;
  const auto cv = tuner.choose(v);
  CHECK(cv.best.algo == Algo::Pairwise);
  CHECK(cv.rule.find("alltoallv") != std::string::npos);
  CHECK(tune::summary(v, cv).find("alltoallv 640 B") != std::string::npos);
  for (const Collective coll : {Collective::Send, Collective::Recv}) {
    const auto c = tuner.choose(call(coll, 100, 16, 3));
    CHECK(c.best.algo == Algo::Direct);
    CHECK(c.rule.find("point-to-point") != std::string::npos);
  }
  CHECK_THROWS_AS(tune::plan_traffic(cluster(8), Layout::blocks(2, 8), v, Algo::Pairwise, 1),
                  Error);
}

TEST_CASE("COLOSSUS_ALGO selects alltoall, gather and scatter algorithms") {
  Tuner bruck(cluster(8), Layout::blocks(4, 8), AlgoFilter::parse("alltoall:bruck"), {});
  const auto c = bruck.choose(call(Collective::AllToAll, 1 << 16, 32));
  CHECK(c.best.algo == Algo::Bruck);
  CHECK(c.forced);
  for (const auto& x : c.candidates) CHECK(x.algo == Algo::Bruck);
  // The list names alltoall only: allreduce stays free.
  CHECK(bruck.choose(call(Collective::AllReduce, 1 << 20, 32)).best.algo != Algo::Bruck);
  // A list that leaves alltoall nothing is the caller's error.
  Tuner none(cluster(8), Layout::blocks(4, 8), AlgoFilter::parse("alltoall:ring"), {});
  CHECK_THROWS_AS(none.choose(call(Collective::AllToAll, 1024, 32)), Error);
  Tuner direct(cluster(8), Layout::blocks(4, 8), AlgoFilter::parse("gather:direct;scatter:direct"),
               {});
  CHECK(direct.choose(call(Collective::Gather, 1024, 32)).best.algo == Algo::Direct);
  CHECK(direct.choose(call(Collective::Scatter, 1024, 32)).forced);
}
