// algo_filter_test.cc: COLOSSUS_ALGO parses NCCL_ALGO's syntax and refuses garbage.
#include "tune/algo_filter.hpp"

#include "catch.hpp"
#include "colossus/error.hpp"

using colossus::Error;
using colossus::algorithms::Algo;
using colossus::plan::Collective;
using colossus::tune::AlgoFilter;

TEST_CASE("empty spec allows everything, restricts nothing") {
  const AlgoFilter f = AlgoFilter::parse("");
  for (int c = 0; c < colossus::plan::kNumCollectives; ++c) {
    CHECK_FALSE(f.restricted(static_cast<Collective>(c)));
    for (int a = 0; a < colossus::algorithms::kNumAlgos; ++a) {
      CHECK(f.allows(static_cast<Collective>(c), static_cast<Algo>(a)));
    }
  }
}

TEST_CASE("one list applies to every collective, case-insensitively") {
  const AlgoFilter f = AlgoFilter::parse("Tree, RING");
  CHECK(f.allows(Collective::AllReduce, Algo::Tree));
  CHECK(f.allows(Collective::AllGather, Algo::Ring));
  CHECK_FALSE(f.allows(Collective::AllReduce, Algo::Hierarchical));
  CHECK_FALSE(f.allows(Collective::AllReduce, Algo::RecursiveDoubling));
  CHECK(f.restricted(Collective::Broadcast));
}

TEST_CASE("^ excludes the whole list") {
  const AlgoFilter f = AlgoFilter::parse("^ring,tree");
  CHECK_FALSE(f.allows(Collective::AllReduce, Algo::Ring));
  CHECK_FALSE(f.allows(Collective::AllReduce, Algo::Tree));
  CHECK(f.allows(Collective::AllReduce, Algo::Hierarchical));
  CHECK(f.allows(Collective::AllReduce, Algo::RecursiveDoubling));
}

TEST_CASE("per-collective lists leave the others free") {
  const AlgoFilter f = AlgoFilter::parse("allreduce:tree;allgather:^ring; reducescatter:hier");
  CHECK(f.allows(Collective::AllReduce, Algo::Tree));
  CHECK_FALSE(f.allows(Collective::AllReduce, Algo::Ring));
  CHECK_FALSE(f.allows(Collective::AllGather, Algo::Ring));
  CHECK(f.allows(Collective::AllGather, Algo::Hierarchical));
  CHECK(f.allows(Collective::ReduceScatter, Algo::Hierarchical));
  CHECK_FALSE(f.allows(Collective::ReduceScatter, Algo::Ring));
  CHECK_FALSE(f.restricted(Collective::Broadcast));
  CHECK(f.allows(Collective::Broadcast, Algo::Ring));
  CHECK(AlgoFilter::parse("allreduce:rd").allows(Collective::AllReduce, Algo::RecursiveDoubling));
}

TEST_CASE("malformed specs are refused with the reason and the known names") {
  for (const char* spec :
       {"rung", "ring,", "^", "allreduce:", "allreduse:ring", "allreduce:ring;bogus"}) {
    INFO(spec);
    try {
      (void)AlgoFilter::parse(spec);
      FAIL("accepted");
    } catch (const Error& e) {
      CHECK(e.code() == colossus::ErrorCode::InvalidArgument);
      CHECK(std::string(e.what()).find(
                "algorithms: ring, tree, hierarchical, recursive_doubling") != std::string::npos);
    }
  }
}

TEST_CASE("the all-to-all, gather and scatter algorithms parse per collective") {
  const AlgoFilter f = AlgoFilter::parse("alltoall:bruck; gather:tree,direct; scatter:^tree");
  CHECK(f.allows(Collective::AllToAll, Algo::Bruck));
  CHECK_FALSE(f.allows(Collective::AllToAll, Algo::Pairwise));
  CHECK(f.named(Collective::AllToAll));
  CHECK(f.allows(Collective::Gather, Algo::Tree));
  CHECK(f.allows(Collective::Gather, Algo::Direct));
  CHECK_FALSE(f.allows(Collective::Scatter, Algo::Tree));
  CHECK(f.allows(Collective::Scatter, Algo::Direct));
  CHECK_FALSE(f.restricted(Collective::AllToAllv));
  CHECK(f.allows(Collective::AllReduce, Algo::Ring));
  const AlgoFilter g = AlgoFilter::parse("ALLTOALL:Pairwise");
  CHECK(g.allows(Collective::AllToAll, Algo::Pairwise));
  CHECK_FALSE(g.allows(Collective::AllToAll, Algo::Bruck));
}
