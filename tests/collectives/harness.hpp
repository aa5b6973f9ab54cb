// harness.hpp: runs one collective call on every rank of a group with
// generated inputs, and checks every output element on every rank.
//
// A Case is any collective of the API, or (coll == Send) the send/recv
// pattern of reference.hpp: in one group, every rank sends to r+1 and r+k
// and receives from r-1 and r-k, with k = root and counts differing per
// pair. Alltoallv cases take their blocks from vector_layout(count, n,
// seed()): uneven, zero counts, a rank that receives nothing, gaps.
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
  int root = 0;  // send/recv pattern: the second peer's distance k
  // The API's in-place form (colossus.hpp); on gather's and scatter's other
  // ranks: null for the buffer they do not use. None for alltoall(v), send/recv.
  bool in_place = false;
  bool misaligned = false;  // buffers start one element past an aligned address
  std::string describe() const;
  uint64_t seed() const;  // alltoallv's layout
};

// Alltoall, alltoallv, gather, scatter and the send/recv pattern
// (plan::is_exchange): checked exactly, block by block, on tag_value inputs
// (reference.hpp).
using plan::is_exchange;
// Whether the API has an in-place form of the collective.
bool has_in_place(plan::Collective c);

// Every rank's stored (rounded) inputs for a case, as the library sees them:
// inputs[r] is what rank r's send buffer holds (empty where it sends none).
using Inputs = std::vector<std::vector<double>>;
Inputs make_inputs(const Case& c, int n);

// Runs the case on rank r of n through `comm` and checks every output
// element; each problem found goes to `report`. Usable from any thread or
// process: the inputs of all ranks are a pure function of the case.
void run_rank(const Case& c, int n, int r, Communicator& comm, const Inputs& inputs,
              const std::function<void(const std::string&)>& report);

// One group and its rank threads, reused across cases.
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
