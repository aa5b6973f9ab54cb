// exchange_verify_test.cc: the verifier proves the all-to-all, alltoallv,
// gather and scatter Plans the algorithms make, and rejects mutated ones
// with a message that says what is wrong.
//
// The sweep: n = 1..9 and 16; counts 0, 1, 7, 1009; channels 1, 2, 3 with
// 512 KiB, 64 B and 48 B chunks; FIFO depth 1..4, each with one message per
// step (slot 0) and with slots small enough that a chunk takes up to
// `depth` pieces (the most that keeps an exchange that sends before it
// receives deadlock-free, plan.hpp); int8 and float64 besides float32 at a
// few n. Alltoallv: seeded random uneven counts with zeros, a rank that
// receives nothing, and gaps between blocks placed in shuffled order.
#include <algorithm>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "algorithms/algorithm.hpp"
#include "catch.hpp"
#include "plan/symbolic.hpp"
#include "plan/verifier.hpp"

using namespace colossus::plan;
using colossus::DataType;
using colossus::dtype_size;
using colossus::algorithms::AlgoParams;
using colossus::algorithms::bruck_plan;
using colossus::algorithms::direct_plan;
using colossus::algorithms::hierarchical_alltoall_plan;
using colossus::algorithms::Layout;
using colossus::algorithms::pairwise_plan;
using colossus::algorithms::tree_gather_plan;

namespace {

using PlanFn = Plan (*)(const CollArgs&, int, const AlgoParams&);

const std::vector<int> kRanks = {1, 2, 3, 4, 5, 6, 7, 8, 9, 16};
const std::vector<std::size_t> kCounts = {0, 1, 7, 1009};
const std::vector<AlgoParams> kParams = {{1, 512u << 10}, {2, 64}, {3, 48}};

CollArgs call(Collective c, int n, std::size_t count, int root = 0,
              DataType d = DataType::Float32) {
  CollArgs a;
  a.coll = c;
  a.nranks = n;
  a.count = count;
  a.root = root;
  a.dtype = d;
  return a;
}

// Depth 1..4, each with one slot per step and with slots of ceil(chunk/depth).
std::vector<VerifyOptions> fifo_settings(const AlgoParams& p, DataType d, bool in_place) {
  const std::size_t chunk = std::max<std::size_t>(1, p.chunk_bytes / dtype_size(d));
  std::vector<VerifyOptions> out;
  for (std::size_t depth = 1; depth <= 4; ++depth) {
    out.push_back({.in_place = in_place, .fifo_depth = depth, .slot_elements = 0});
    out.push_back(
        {.in_place = in_place, .fifo_depth = depth, .slot_elements = (chunk + depth - 1) / depth});
  }
  return out;
}

struct Tally {
  std::size_t cases = 0, steps = 0;
  std::vector<std::string> failures;
  void add(const std::string& what, const VerifyResult& res) {
    ++cases;
    steps += res.steps;
    if (!res.ok) failures.push_back(what + ": " + res.error);
  }
  void require(std::size_t min_cases) const {
    std::string shown;
    for (std::size_t i = 0; i < failures.size() && i < 8; ++i) shown += failures[i] + "\n";
    INFO(failures.size() << " of " << cases << " cases failed; first ones:\n" << shown);
    CHECK(failures.empty());
    CHECK(cases >= min_cases);
    CHECK(steps > 0);
  }
};

std::string describe_case(const char* algo, const CollArgs& a, const AlgoParams& p,
                          const VerifyOptions& o) {
  return std::string(algo) + " " + to_string(a.coll) + " n=" + std::to_string(a.nranks) +
         " count=" + std::to_string(a.count) + " " + std::string(to_string(a.dtype)) +
         " root=" + std::to_string(a.root) + " channels=" + std::to_string(p.nchannels) +
         " chunk=" + std::to_string(p.chunk_bytes) + " depth=" + std::to_string(o.fifo_depth) +
         " slot=" + std::to_string(o.slot_elements) + (o.in_place ? " in-place" : "");
}

void check_all(const char* algo, PlanFn make, const CollArgs& a, bool in_place_too, Tally& t) {
  for (const AlgoParams& p : kParams) {
    for (const bool in_place : {false, true}) {
      if (in_place && !in_place_too) continue;
      for (const VerifyOptions& o : fifo_settings(p, a.dtype, in_place)) {
        t.add(describe_case(algo, a, p, o), verify(
                                                a, [&](int r) { return make(a, r, p); }, o));
      }
    }
  }
}

bool few(int n) { return n == 1 || n == 3 || n == 8; }

// Every rank's alltoallv counts, from a matrix sent[r][q] (what r sends q),
// with each side's blocks in shuffled order and gaps of 0..3 elements.
std::vector<VectorArgs> vector_args(const std::vector<std::vector<std::size_t>>& sent,
                                    std::mt19937& rng) {
  const std::size_t n = sent.size();
  auto place = [&](const std::vector<std::size_t>& counts, std::vector<std::size_t>& displs) {
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    displs.assign(n, 0);
    std::size_t at = 0;
    for (const std::size_t q : order) {
      at += rng() % 4;
      displs[q] = at;
      at += counts[q];
    }
  };
  std::vector<VectorArgs> v(n);
  for (std::size_t r = 0; r < n; ++r) {
    v[r].send_counts = sent[r];
    for (std::size_t q = 0; q < n; ++q) v[r].recv_counts.push_back(sent[q][r]);
    place(v[r].send_counts, v[r].send_displs);
    place(v[r].recv_counts, v[r].recv_displs);
  }
  return v;
}

// Random counts in [0, max]: about a third zero, and rank `deaf` receives nothing.
std::vector<std::vector<std::size_t>> random_counts(int n, std::size_t max, int deaf,
                                                    std::mt19937& rng) {
  std::vector<std::vector<std::size_t>> sent(static_cast<std::size_t>(n));
  for (int r = 0; r < n; ++r) {
    for (int q = 0; q < n; ++q) {
      const bool zero = q == deaf || rng() % 3 == 0;
      sent[static_cast<std::size_t>(r)].push_back(zero ? 0 : 1 + rng() % max);
    }
  }
  return sent;
}

VerifyResult verify_vector(const std::vector<VectorArgs>& v, const AlgoParams& p,
                           const VerifyOptions& o, DataType d = DataType::Float32) {
  const int n = static_cast<int>(v.size());
  const CollArgs a = call(Collective::AllToAllv, n, 0, 0, d);
  return verify(
      a,
      [&](int r) {
        CollArgs mine = a;
        mine.v = std::make_shared<VectorArgs>(v[static_cast<std::size_t>(r)]);
        return pairwise_plan(mine, r, p);
      },
      o);
}

void expect_error(const VerifyResult& res, const std::string& needle) {
  INFO("verifier said: " << res.error);
  CHECK_FALSE(res.ok);
  CHECK(res.error.find(needle) != std::string::npos);
}

// A correct Plan set, to mutate: plans[r] for rank r.
std::vector<Plan> plans_of(PlanFn make, const CollArgs& a, const AlgoParams& p) {
  std::vector<Plan> out;
  for (int r = 0; r < a.nranks; ++r) out.push_back(make(a, r, p));
  return out;
}
VerifyResult verify_plans(const CollArgs& a, const std::vector<Plan>& plans,
                          const VerifyOptions& o = {}) {
  return verify(
      a, [&](int r) { return plans[static_cast<std::size_t>(r)]; }, o);
}

// Index of rank r's first step on channel 0 matching `pred`.
template <class Pred>
std::size_t find_step(const Plan& p, Pred pred) {
  const auto& steps = p.channels[0].steps;
  const auto it = std::find_if(steps.begin(), steps.end(), pred);
  REQUIRE(it != steps.end());
  return static_cast<std::size_t>(it - steps.begin());
}

}  // namespace

TEST_CASE("pairwise and Bruck alltoall verify", "[verifier][alltoall]") {
  Tally t;
  for (const int n : kRanks) {
    for (const std::size_t count : kCounts) {
      check_all("pairwise", pairwise_plan, call(Collective::AllToAll, n, count), false, t);
      check_all("bruck", bruck_plan, call(Collective::AllToAll, n, count), false, t);
      if (!few(n) || count != 1009) continue;
      for (const DataType d : {DataType::Int8, DataType::Float64}) {
        check_all("pairwise", pairwise_plan, call(Collective::AllToAll, n, count, 0, d), false, t);
        check_all("bruck", bruck_plan, call(Collective::AllToAll, n, count, 0, d), false, t);
      }
    }
  }
  t.require(2 * kRanks.size() * kCounts.size() * kParams.size() * 8);
}

TEST_CASE("pairwise alltoallv verifies with uneven counts and gaps", "[verifier][alltoall]") {
  Tally t;
  std::mt19937 rng(20240611);
  for (const int n : kRanks) {
    for (const std::size_t max : {std::size_t{1}, std::size_t{9}, std::size_t{1009}}) {
      const auto sent = random_counts(n, max, n / 2, rng);
      const std::vector<VectorArgs> v = vector_args(sent, rng);
      for (const AlgoParams& p : kParams) {
        for (const VerifyOptions& o : fifo_settings(p, DataType::Float32, false)) {
          t.add("alltoallv n=" + std::to_string(n) + " max=" + std::to_string(max) + " channels=" +
                    std::to_string(p.nchannels) + " depth=" + std::to_string(o.fifo_depth) +
                    " slot=" + std::to_string(o.slot_elements),
                verify_vector(v, p, o));
        }
      }
      if (few(n)) t.add("alltoallv float64", verify_vector(v, kParams[2], {}, DataType::Float64));
    }
    // Everything zero: nothing moves, and nothing may be written.
    const std::vector<std::vector<std::size_t>> none(static_cast<std::size_t>(n),
                                                     std::vector<std::size_t>(n, 0));
    t.add("alltoallv all zero", verify_vector(vector_args(none, rng), kParams[1], {}));
  }
  t.require(kRanks.size() * 3 * kParams.size() * 8);
}

TEST_CASE("direct gather and scatter verify for every root", "[verifier][gather]") {
  Tally t;
  for (const int n : kRanks) {
    for (int root = 0; root < n; ++root) {
      for (const std::size_t count : kCounts) {
        for (const Collective c : {Collective::Gather, Collective::Scatter}) {
          check_all("direct", direct_plan, call(c, n, count, root), true, t);
        }
      }
    }
  }
  t.require(2 * 61 * kCounts.size() * kParams.size() * 16);  // 61: the roots over kRanks
}

TEST_CASE("binomial-tree gather and scatter verify for every root", "[verifier][gather]") {
  Tally t;
  for (const int n : kRanks) {
    for (int root = 0; root < n; ++root) {
      for (const std::size_t count : {std::size_t{0}, std::size_t{1}, std::size_t{1009}}) {
        for (const Collective c : {Collective::Gather, Collective::Scatter}) {
          check_all("tree", tree_gather_plan, call(c, n, count, root), true, t);
        }
      }
    }
  }
  t.require(2 * 61 * 3 * kParams.size() * 16);
}

TEST_CASE("hierarchical (rail-aware) alltoall verifies on node layouts", "[verifier][alltoall]") {
  Tally t;
  const std::vector<Layout> layouts = {
      Layout::blocks(1, 5), Layout::blocks(2, 2),
      Layout::blocks(4, 1), Layout::blocks(3, 4),
      Layout::blocks(2, 8), Layout::from_nodes({0, 1, 0, 1, 0, 1})};  // interleaved
  for (const Layout& l : layouts) {
    for (const std::size_t count : kCounts) {
      const CollArgs a = call(Collective::AllToAll, l.nranks(), count);
      for (AlgoParams p : kParams) {
        p.layout = &l;
        for (const VerifyOptions& o : fifo_settings(p, a.dtype, false)) {
          t.add(describe_case("hierarchical", a, p, o) + " " + l.describe(),
                verify(
                    a, [&](int r) { return hierarchical_alltoall_plan(a, r, p); }, o));
        }
      }
    }
  }
  t.require(layouts.size() * kCounts.size() * kParams.size() * 8);
}

TEST_CASE("verifier rejects mutated alltoall plans", "[verifier][alltoall]") {
  const CollArgs a = call(Collective::AllToAll, 4, 8);
  const AlgoParams p{1, 512u << 10};
  const std::vector<Plan> good = plans_of(pairwise_plan, a, p);
  REQUIRE(verify_plans(a, good).ok);
  const auto is_recv = [](const Step& s) { return s.kind == StepKind::Recv; };
  const auto is_send = [](const Step& s) { return s.kind == StepKind::Send; };

  SECTION("a dropped step") {
    auto plans = good;  // rank 2 never copies its own block
    std::size_t copies = 0;
    for (auto& ch : plans[2].channels) {
      copies += static_cast<std::size_t>(
          std::erase_if(ch.steps, [](const Step& s) { return s.kind == StepKind::Copy; }));
    }
    REQUIRE(copies == 1);
    expect_error(verify_plans(a, plans), "rank 2 recv[16,24) is never written: output missing");
    plans = good;  // rank 1 drops its first receive: rank 0's block stays in the stream
    auto& r1 = plans[1].channels[0].steps;
    r1.erase(r1.begin() + static_cast<long>(find_step(plans[1], is_recv)));
    expect_error(verify_plans(a, plans), "never receives");
  }
  SECTION("two recv blocks swapped") {
    auto plans = good;
    std::vector<Step*> recvs;
    for (Step& s : plans[1].channels[0].steps) {
      if (is_recv(s)) recvs.push_back(&s);
    }
    REQUIRE(recvs.size() == 3);
    std::swap(recvs[0]->dst.offset, recvs[1]->dst.offset);
    // Rank 1 receives from rank 0 first (round 1) and from rank 3 next (round 2).
    expect_error(verify_plans(a, plans),
                 "rank 1 recv[0,8) (ranks {3} input[8,16)) holds ranks "
                 "{3} but needs {0}");
  }
  SECTION("a send to the wrong peer") {
    auto plans = good;
    plans[0].channels[0].steps[find_step(plans[0], is_send)].send_peer = 2;
    expect_error(verify_plans(a, plans), "deadlock");
  }
  SECTION("a recv into the wrong block") {
    auto plans = good;
    plans[3].channels[0].steps[find_step(plans[3], is_recv)].dst.offset = 0;  // block 0 is 2's
    expect_error(verify_plans(a, plans), "rank 3 recv[16,24) is never written");
  }
  SECTION("a send of the wrong block") {
    auto plans = good;
    plans[0].channels[0].steps[find_step(plans[0], is_send)].src.offset = 16;
    expect_error(verify_plans(a, plans),
                 "rank 1 recv[0,8) (ranks {0} input[16,24)) holds input "
                 "element 16 at its first element where input element 8 "
                 "belongs");
  }
  SECTION("one rank on other transport channels") {
    auto plans = good;
    plans[2].channel_base = kP2PChannelBase;
    const VerifyResult res = verify_plans(a, plans);
    expect_error(res, "deadlock");
    expect_error(res, "on transport channel 64, which has no lane on it");
  }
  SECTION("no in-place form") {
    expect_error(verify_plans(a, good, {.in_place = true}), "alltoall has no in-place form");
  }
}

TEST_CASE("verifier rejects bad alltoallv counts and writes between blocks",
          "[verifier][alltoall]") {
  // Rank r sends r+q+1 elements to q; blocks with one element of gap.
  const int n = 3;
  std::vector<std::vector<std::size_t>> sent(n);
  for (int r = 0; r < n; ++r)
    for (int q = 0; q < n; ++q) sent[static_cast<std::size_t>(r)].push_back(r + q + 1);
  std::vector<VectorArgs> v(n);
  for (std::size_t r = 0; r < n; ++r) {
    v[r].send_counts = sent[r];
    std::size_t s = 1, d = 1;
    for (std::size_t q = 0; q < n; ++q) {
      v[r].recv_counts.push_back(sent[q][r]);
      v[r].send_displs.push_back(s);
      v[r].recv_displs.push_back(d);
      s += sent[r][q] + 1;
      d += sent[q][r] + 1;
    }
  }
  const AlgoParams p{1, 512u << 10};
  VerifyResult res = verify_vector(v, p, {});
  INFO(res.error);
  REQUIRE(res.ok);

  auto bad = v;
  bad[0].recv_counts[1] += 1;
  expect_error(verify_vector(bad, p, {}),
               "alltoallv counts disagree: rank 0 expects recv_counts[1] = 3 elements from rank "
               "1, but rank 1 sends send_counts[0] = 2");
  bad = v;
  bad[2].recv_displs[1] = bad[2].recv_displs[0] + 1;
  expect_error(verify_vector(bad, p, {}),
               "rank 2's alltoallv recv blocks from ranks 0 and 1 "
               "overlap");

  const CollArgs a = call(Collective::AllToAllv, n, 0);
  std::vector<Plan> good;
  for (int r = 0; r < n; ++r) {
    CollArgs mine = a;
    mine.v = std::make_shared<VectorArgs>(v[static_cast<std::size_t>(r)]);
    good.push_back(pairwise_plan(mine, r, p));
  }
  auto plans = good;
  auto short_v = std::make_shared<VectorArgs>(v[1]);
  short_v->send_counts.pop_back();
  plans[1].args.v = short_v;
  expect_error(verify_plans(a, plans), "rank 1's alltoallv plan has 2 send_counts for 3 ranks");
  plans[1].args.v = nullptr;
  expect_error(verify_plans(a, plans), "rank 1's alltoallv plan carries no counts");

  // Rank 1's receive from rank 0 lands one element early, in the gap before its block.
  plans = good;
  for (Step& s : plans[1].channels[0].steps) {
    if (s.kind == StepKind::Recv && s.recv_peer == 0) s.dst.offset -= 1;
  }
  expect_error(verify_plans(a, plans),
               "rank 1 recv[0,1) is written, but lies outside every block the rank receives");
  expect_error(verify_plans(a, plans, {.in_place = true}), "alltoallv has no in-place form");

  // Rank 2 sends rank 0 the elements just before its block (send[0,3), not [1,4)).
  plans = good;
  for (Step& s : plans[2].channels[0].steps) {
    if (s.kind == StepKind::Send && s.send_peer == 0) s.src.offset -= 1;
  }
  expect_error(verify_plans(a, plans),
               "rank 0 recv[6,9) (ranks {2} input[0,3)) holds input "
               "element 0 at its first element where input element 1 "
               "belongs");
}

TEST_CASE("verifier holds gather and scatter non-roots to their one buffer", "[verifier][gather]") {
  const AlgoParams p{1, 512u << 10};
  const CollArgs g = call(Collective::Gather, 3, 4, 1);
  auto plans = plans_of(direct_plan, g, p);
  REQUIRE(verify_plans(g, plans, {.in_place = true}).ok);
  plans[0].channels[0].steps.push_back(plans[1].channels[0].steps.front());  // a copy into recv
  expect_error(verify_plans(g, plans), "a gather non-root writes recv, but non-roots have no recv");

  const CollArgs s = call(Collective::Scatter, 3, 4, 2);
  plans = plans_of(direct_plan, s, p);
  REQUIRE(verify_plans(s, plans, {.in_place = true}).ok);
  Step read_send;
  read_send.kind = StepKind::Copy;
  read_send.src = {Buffer::Send, 0, 4};
  read_send.dst = {Buffer::Recv, 0, 4};
  plans[0].channels[0].steps.push_back(read_send);
  expect_error(verify_plans(s, plans), "a scatter non-root reads its send buffer, which holds no");

  plans = plans_of(direct_plan, s, p);  // the root keeps its own block in the wrong place
  plans[2].channels[0].steps.back().src.offset = 0;
  expect_error(verify_plans(s, plans),
               "rank 2 recv[0,4) (ranks {2} input[0,4)) holds input "
               "element 0 at its first element where input element 8");
}

TEST_CASE("IntervalMap::written finds the first written range", "[verifier][symbolic]") {
  IntervalMap m;
  IntervalMap::Gap first;
  CHECK_FALSE(m.written(0, 100, &first));
  const Value v{RankSet::single(2, 1), 0, false};
  m.write(10, Runs{Run{0, 10, v}});        // [10,20)
  m.write(30, Runs{Run{0, 5, v}});         // [30,35)
  CHECK_FALSE(m.written(0, 10, &first));   // ends where [10,20) begins
  CHECK_FALSE(m.written(20, 10, &first));  // the gap between
  CHECK_FALSE(m.written(15, 0, &first));   // nothing, inside an interval
  REQUIRE(m.written(15, 100, &first));     // starts inside [10,20)
  CHECK((first.begin == 15 && first.end == 20));
  REQUIRE(m.written(22, 10, &first));  // reaches into [30,35)
  CHECK((first.begin == 30 && first.end == 32));
  CHECK_FALSE(m.written(35, 5, &first));
}
