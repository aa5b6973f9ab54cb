// verifier_test.cc: each check of the plan verifier fires on a tiny
// hand-written plan that breaks exactly that rule, and stays quiet on the
// correct version of the same plan.
#include "plan/verifier.hpp"

#include <map>
#include <string>
#include <vector>

#include "catch.hpp"

using namespace colossus::plan;
using colossus::ReduceOp;

namespace {

Slice S(std::size_t off, std::size_t n) { return {Buffer::Send, off, n}; }
Slice R(std::size_t off, std::size_t n) { return {Buffer::Recv, off, n}; }
Slice X(std::size_t off, std::size_t n) { return {Buffer::Scratch, off, n}; }

Step step(StepKind k, int from, int to, Slice src, Slice dst, bool fin = false) {
  Step s;
  s.kind = k;
  s.recv_peer = from;
  s.send_peer = to;
  s.src = src;
  s.dst = dst;
  s.finalize = fin;
  return s;
}
Step send(int to, Slice src) { return step(StepKind::Send, -1, to, src, {}); }
Step recv(int from, Slice dst) { return step(StepKind::Recv, from, -1, {}, dst); }
Step recv_reduce(int from, Slice src, Slice dst, bool fin) {
  return step(StepKind::RecvReduce, from, -1, src, dst, fin);
}
Step copy(Slice src, Slice dst, bool fin = false) {
  return step(StepKind::Copy, -1, -1, src, dst, fin);
}
Step reduce(Slice src, Slice dst, bool fin = false) {
  return step(StepKind::Reduce, -1, -1, src, dst, fin);
}

CollArgs call(Collective c, int n, std::size_t count, ReduceOp op = ReduceOp::Sum, int root = 0) {
  CollArgs a;
  a.coll = c;
  a.nranks = n;
  a.count = count;
  a.op = op;
  a.root = root;
  return a;
}

// Steps per rank, per channel.
using Steps = std::vector<std::vector<Step>>;
VerifyResult run(const CollArgs& a, const std::map<int, Steps>& per_rank, VerifyOptions opt = {},
                 std::size_t scratch = 0) {
  return verify(
      a,
      [&](int r) {
        Plan p;
        p.args = a;
        p.rank = r;
        p.algorithm = "test";
        p.scratch_count = scratch;
        auto it = per_rank.find(r);
        if (it != per_rank.end()) {
          for (const auto& ch : it->second) p.channels.push_back(ChannelPlan{ch});
        }
        return p;
      },
      opt);
}

void expect_error(const VerifyResult& res, const std::string& needle) {
  INFO("verifier said: " << res.error);
  CHECK_FALSE(res.ok);
  CHECK(res.error.find(needle) != std::string::npos);
}

// A correct 2-rank allreduce of 4 elements: exchange, then reduce.
std::map<int, Steps> exchange_allreduce() {
  return {{0, {{send(1, S(0, 4)), recv_reduce(1, S(0, 4), R(0, 4), true)}}},
          {1, {{send(0, S(0, 4)), recv_reduce(0, S(0, 4), R(0, 4), true)}}}};
}

}  // namespace

TEST_CASE("verifier accepts correct hand-written plans", "[verifier]") {
  const CollArgs a = call(Collective::AllReduce, 2, 4, ReduceOp::Avg);
  VerifyResult res = run(a, exchange_allreduce());
  INFO(res.error);
  CHECK(res.ok);
  CHECK(res.steps == 4);
  CHECK(res.messages == 2);
  res = run(a, exchange_allreduce(), {.in_place = true});
  INFO(res.error);
  CHECK(res.ok);
}

TEST_CASE("verifier catches reductions that count a rank twice or misalign", "[verifier]") {
  const CollArgs a = call(Collective::AllReduce, 2, 4);
  auto plans = exchange_allreduce();
  plans[1][0][1].finalize = false;
  plans[1][0].push_back(reduce(S(0, 4), R(0, 4), true));
  expect_error(run(a, plans), "rank 1 channel 0 step 2 (Reduce");
  expect_error(run(a, plans), "counted twice");

  // Rank 0 sends elements 1..3 where rank 1 reduces them with its elements 0..2.
  plans = {{0, {{send(1, S(1, 3)), recv(1, R(0, 4))}}},
           {1, {{recv_reduce(0, S(0, 3), R(0, 3), false)}}}};
  expect_error(run(a, plans), "misaligned reduction");
}

TEST_CASE("verifier catches missing contributions and wrong finalization", "[verifier]") {
  // Reduce to root 0 of 3 ranks that forgets rank 2.
  const CollArgs red = call(Collective::Reduce, 3, 5, ReduceOp::Avg, 0);
  std::map<int, Steps> plans = {{0, {{recv_reduce(1, S(0, 5), R(0, 5), false)}}},
                                {1, {{send(0, S(0, 5))}}}};
  expect_error(run(red, plans), "missing contribution of rank(s) {2}");
  plans[0][0][0].finalize = true;
  expect_error(run(red, plans), "finalizes a partial reduction");

  const CollArgs a = call(Collective::AllReduce, 2, 4, ReduceOp::Avg);
  auto ar = exchange_allreduce();
  ar[1][0][1].finalize = false;
  expect_error(run(a, ar), "rank 1 recv[0,4)");
  expect_error(run(a, ar), "never finalized");

  ar = exchange_allreduce();
  ar[0][0].push_back(
      copy(R(0, 4), R(0, 4), true));  // exactly aliased: allowed, but finalizes again
  expect_error(run(a, ar), "twice");
}

TEST_CASE("verifier catches message mismatches and bad peers", "[verifier]") {
  const CollArgs a = call(Collective::AllGather, 2, 4);
  // Correct: each copies its block and swaps blocks with the other.
  auto good = [](int me) {
    const int peer = 1 - me;
    return Steps{{copy(S(0, 4), R(4 * me, 4)), send(peer, S(0, 4)), recv(peer, R(4 * peer, 4))}};
  };
  std::map<int, Steps> plans = {{0, good(0)}, {1, good(1)}};
  VerifyResult res = run(a, plans);
  INFO(res.error);
  REQUIRE(res.ok);

  auto extra = plans;
  extra[0][0].push_back(send(1, S(0, 4)));
  expect_error(run(a, extra), "never receives");

  auto short_recv = plans;
  short_recv[1][0][2] = recv(0, R(0, 3));
  expect_error(run(a, short_recv), "expects 3 elements but the next message from rank 0");

  auto bad_peer = plans;
  bad_peer[0][0][1].send_peer = 5;
  expect_error(run(a, bad_peer), "rank 5 is not a rank of the 2-rank world");
  bad_peer[0][0][1].send_peer = 0;
  expect_error(run(a, bad_peer), "itself");

  auto misplaced = plans;
  misplaced[1][0][2] = recv(0, R(4, 4));  // rank 0's block lands on rank 1's own block
  misplaced[1][0][0] = copy(S(0, 4), R(0, 4));
  expect_error(run(a, misplaced),
               "rank 1 recv[0,4) (ranks {1} input[0,4)) holds ranks {1} but needs {0}");
}

TEST_CASE("verifier catches reads of unwritten data and out-of-bounds slices", "[verifier]") {
  const CollArgs a = call(Collective::Broadcast, 1, 4);
  expect_error(run(a, {{0, {{copy(X(0, 4), R(0, 4))}}}}, {}, 4),
               "reads scratch[0,4) before it is written");
  expect_error(run(a, {{0, {{copy(S(0, 4), X(2, 4))}}}}, {}, 4),
               "dst scratch[2,+4) is out of bounds: scratch has 4 elements");
  expect_error(run(a, {{0, {{copy(S(1, 4), R(0, 4))}}}}),
               "src send[1,+4) is out of bounds: send has 4 elements");
  CHECK(run(a, {{0, {{copy(S(0, 4), R(0, 4))}}}}).ok);
  expect_error(run(a, {{0, {{copy(R(0, 4), S(0, 4))}}}}), "read-only");
  expect_error(run(a, {{0, {{copy(S(0, 3), R(0, 4))}}}}), "src has 3 elements but dst has 4");
  expect_error(run(a, {{0, {{copy(S(0, 4), R(0, 4)), copy(R(0, 3), R(1, 3))}}}}),
               "overlap partially");
}

TEST_CASE("verifier enforces buffer roles of rooted collectives", "[verifier]") {
  const CollArgs red = call(Collective::Reduce, 2, 4, ReduceOp::Sum, 1);
  std::map<int, Steps> plans = {{0, {{send(1, S(0, 4)), copy(S(0, 4), R(0, 4))}}},
                                {1, {{recv_reduce(0, S(0, 4), R(0, 4), true)}}}};
  expect_error(run(red, plans), "rank 0 channel 0 step 1 (Copy");
  expect_error(run(red, plans), "non-roots have no recv buffer");
  plans[0][0].pop_back();
  VerifyResult res = run(red, plans, {.in_place = true});
  INFO(res.error);
  CHECK(res.ok);

  const CollArgs bc = call(Collective::Broadcast, 2, 4, ReduceOp::Sum, 0);
  plans = {{0, {{send(1, S(0, 4)), copy(S(0, 4), R(0, 4))}}},
           {1, {{recv(0, R(0, 4)), copy(S(0, 4), R(0, 4))}}}};
  expect_error(run(bc, plans), "non-root reads its send buffer");
  plans[0][0][1].finalize = true;
  plans[1][0].pop_back();
  expect_error(run(bc, plans), "finalize in broadcast");
}

TEST_CASE("verifier catches in-place overwrite before read", "[verifier]") {
  // Rank 1 receives into recv, then reduces its send into it: correct out of
  // place, but in place recv is send, so its input is gone before it is read.
  const CollArgs a = call(Collective::AllReduce, 2, 4);
  std::map<int, Steps> plans = {
      {0, {{send(1, S(0, 4)), recv(1, R(0, 4))}}},
      {1, {{recv(0, R(0, 4)), reduce(S(0, 4), R(0, 4), true), send(0, R(0, 4))}}}};
  VerifyResult res = run(a, plans);
  INFO(res.error);
  CHECK(res.ok);
  expect_error(run(a, plans, {.in_place = true}),
               "rank 1 channel 0 step 1 (Reduce src=send[0,+4) dst=recv[0,+4) finalize)");
  expect_error(run(a, plans, {.in_place = true}), "overwritten through the recv buffer");
}

TEST_CASE("verifier finds deadlocks under the FIFO depth", "[verifier]") {
  const CollArgs a = call(Collective::AllGather, 2, 4);
  auto recv_first = [](int me) {
    const int peer = 1 - me;
    return Steps{{recv(peer, R(4 * peer, 4)), send(peer, S(0, 4)), copy(S(0, 4), R(4 * me, 4))}};
  };
  VerifyResult res = run(a, {{0, recv_first(0)}, {1, recv_first(1)}});
  expect_error(res, "deadlock");
  expect_error(res, "rank 0 channel 0 step 0 (Recv from 1 dst=recv[4,+4)): waits for a message");

  // Both send two messages before receiving: needs two slots per stream.
  auto two_sends = [](int me) {
    const int peer = 1 - me;
    return Steps{{send(peer, S(0, 2)), send(peer, S(2, 2)), recv(peer, R(4 * peer, 2)),
                  recv(peer, R(4 * peer + 2, 2)), copy(S(0, 4), R(4 * me, 4))}};
  };
  const std::map<int, Steps> plans = {{0, two_sends(0)}, {1, two_sends(1)}};
  expect_error(run(a, plans, {.fifo_depth = 1}), "waits for a free slot");
  res = run(a, plans, {.fifo_depth = 2});
  INFO(res.error);
  CHECK(res.ok);
}

TEST_CASE("verifier keeps channels independent and checks plan headers", "[verifier]") {
  const CollArgs a = call(Collective::AllReduce, 1, 8);
  expect_error(run(a, {{0, {{copy(S(0, 8), R(0, 8), true)}, {copy(S(4, 4), X(0, 4))}}}}), "");
  VerifyResult res =
      run(a, {{0, {{copy(S(0, 4), R(0, 4), true)}, {copy(S(4, 4), R(4, 4), true)}}}});
  INFO(res.error);
  CHECK(res.ok);
  expect_error(run(a, {{0, {{copy(S(0, 8), R(0, 8), true)}, {copy(R(4, 4), X(0, 4))}}}}, {}, 4),
               "channels run concurrently");
  // In place, channel 1 writes what channel 0 reads through the alias.
  const std::map<int, Steps> aliased = {
      {0,
       {{copy(S(0, 4), R(0, 4), true)}, {copy(S(4, 4), R(4, 4), true), copy(S(0, 2), X(0, 2))}}}};
  res = run(a, aliased, {}, 2);
  INFO(res.error);
  CHECK(res.ok);
  expect_error(run(a, aliased, {.in_place = true}, 2), "channels run concurrently");

  res = verify(a, [&](int) {
    Plan p;
    p.args = a;
    p.rank = 3;
    return p;
  });
  expect_error(res, "plan_of(0) returned a plan for rank 3");
}
