// harness.hpp: runs one collective call on every rank of a loopback group
// with generated inputs, and checks every output element on every rank.
#pragma once

#include <functional>
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

// Every rank's stored (rounded) inputs for a case, as the library sees them.
using Inputs = std::vector<std::vector<double>>;
Inputs make_inputs(const Case& c, int n);

// Runs the case on rank r of n through `comm` and checks every output
// element; each problem found goes to `report`. Usable from any thread or
// process: the inputs of all ranks are a pure function of the case.
void run_rank(const Case& c, int n, int r, Communicator& comm, const Inputs& inputs,
              const std::function<void(const std::string&)>& report);

// One loopback group and its rank threads, reused across cases.
class Group {
 public:
  Group(int n, const Options& options);             // loopback ranks
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
