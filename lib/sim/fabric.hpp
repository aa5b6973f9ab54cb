// fabric.hpp: the modeled machine the simulator runs Plans on.
//
// A Fabric answers, for ranks placed on a topology, which shared resources
// a message between two ranks occupies and what latency it pays:
//
//   - each rank's on-node port, one per direction (NVLink/NVSwitch, or the
//     host-memory copy path of CPU ranks), at the CostModel's intra rate;
//   - each NIC, one per direction, shared by the ranks of its host that send
//     through it (RankMap::nic), at the NIC's own rate;
//   - each rank's memory engine (its copy/reduce loops), at the CostModel's
//     local rate, charged bytes x memory passes of the step.
//
// Switches are taken as non-blocking (rail-optimized fat trees at full
// bisection, as every preset describes): contention happens at the
// endpoints, latency grows with the switch tiers a message crosses
// (PathModel::network_latency_us). This is the documented approximation of
// the simulator; bench/RESULTS.md measures its error on the testbed.
//
// Every number comes from the same CostModel the tuner uses
// (tune::cost_model on the same PathModel), so the simulator checks the
// tuner, never a second set of constants.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "algorithms/layout.hpp"
#include "topology/mapping.hpp"
#include "tune/cost_model.hpp"

namespace colossus::sim {

class Fabric {
 public:
  // Ranks as placed by `paths` (which must outlive the Fabric), costs from
  // `model` (normally tune::cost_model(paths, ...)).
  static Fabric from_paths(const topology::PathModel& paths, const tune::CostModel& model);
  // No topology: every node alike, rank r sends off-node through NIC
  // local_index(r) % model.nics_per_node at model.inter's rate and latency.
  // For closed-form tests and quick what-ifs.
  static Fabric uniform(algorithms::Layout layout, const tune::CostModel& model);

  const algorithms::Layout& layout() const { return layout_; }
  const tune::CostModel& model() const { return model_; }
  int nranks() const { return layout_.nranks(); }
  bool same_node(int a, int b) const { return layout_.node_of(a) == layout_.node_of(b); }

  // The NIC `rank` sends through: its index among its node's NICs, and its
  // rate (GB/s per direction).
  int nic_index(int rank) const { return nic_index_[static_cast<std::size_t>(rank)]; }
  double nic_gbytes_per_s(int rank) const;
  // One rank's on-node port and memory engine (shared by time-sliced ranks).
  double intra_gbytes_per_s() const;
  double memory_gbytes_per_s() const;
  // One message from `from` to `to`, end to end, excluding the step cost.
  double latency_us(int from, int to) const;
  double step_us() const { return model_.step_us; }

  // Every node holds the same number of ranks, in consecutive blocks
  // (rank = node * per_node + local), with the same NIC index and rate per
  // local index: a precondition of folding symmetric ranks. "" if so, else why not.
  const std::string& asymmetry() const { return asymmetry_; }

  // "16 ranks, 2 nodes x 8; intra 450 GB/s, NIC 50 GB/s x 8 per node, ..."
  std::string describe() const;

 private:
  Fabric(algorithms::Layout layout, const tune::CostModel& model);
  void find_asymmetry();

  algorithms::Layout layout_;
  tune::CostModel model_;
  const topology::PathModel* paths_ = nullptr;  // null: uniform
  int per_node_ = 1;                            // most ranks on one node
  std::vector<int> nic_index_;                  // per rank
  std::vector<double> nic_rate_;                // per rank (its NIC's rate)
  std::string asymmetry_;
};

}  // namespace colossus::sim
