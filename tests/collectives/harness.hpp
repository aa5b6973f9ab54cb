// harness.hpp: runs one collective call on every rank of a loopback group
// with generated inputs, and checks every output element on every rank.
#pragma once

#include <string>
#include <vector>

#include "colossus/colossus.hpp"
#include "plan/plan.hpp"
#include "support/rank_pool.hpp"

namespace colossus::test {

struct Case {
  plan::Collective coll = plan::Collective::AllReduce;
  DataType dtype = DataType::Float32;
  ReduceOp op = ReduceOp::Sum;
  std::size_t count = 0;
  int root = 0;
  bool in_place = false;
  bool misaligned = false;  // buffers start one element past an aligned address
  std::string describe() const;
};

// One loopback group and its rank threads, reused across cases.
class Group {
 public:
  Group(int n, const Options& options);  // loopback ranks
  explicit Group(std::vector<Communicator> comms);  // ranks over any transport
  int size() const { return n_; }
  // Runs the case on all ranks; returns one line per problem (empty = pass),
  // at most a few per rank.
  std::vector<std::string> run(const Case& c);

 private:
  int n_;
  std::vector<Communicator> comms_;
  RankPool pool_;
};

}  // namespace colossus::test
